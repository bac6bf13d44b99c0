// Adeunis COMFORT 2 (temperature and humidity), data frame 0x4C. Written for Allmende from
// the layout Adeunis documents for this sensor (its technical reference manual, and the
// uplink example Adeunis published for The Things Stack's device repository, codec
// comfort-codec): byte 0 the frame code, byte 1 the status byte (bits 7-5 frame counter,
// bit 3 configuration inconsistency, bit 2 timestamp appended, bit 1 low battery, bit 0
// configuration done), then one group of three bytes per recorded sample, newest first:
// temperature (int16 / 10 degC) and relative humidity (uint8 %); with bit 2 set, the last
// four bytes are seconds since 2013-01-01T00:00:00Z. Members and nesting as Adeunis's
// decoder emits them (`bytes.temperature.values`, `decodingInfo` saying the order). Other
// frames (configuration, alarms, keep-alive) carry no reading here and are reported as
// warnings. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 2) {
    return { errors: ["frame shorter than its code and status byte"] };
  }
  var code = b[0];
  var hex = "0x" + ("0" + code.toString(16)).slice(-2);
  if (code !== 0x4c) {
    return { data: { bytes: { type: hex } }, warnings: ["frame " + hex + " carries no reading"] };
  }
  var status = b[1];
  var end = b.length;
  var out = {
    type: "0x4c Comfort 2 data",
    status: {
      frameCounter: (status & 0xe0) >> 5,
      hardwareError: false,
      lowBattery: Boolean(status & 0x02),
      configurationDone: Boolean(status & 0x01),
      configurationInconsistency: Boolean(status & 0x08),
      timestamp: Boolean(status & 0x04)
    }
  };
  if (status & 0x04) {
    end -= 4;
    if (end < 2) {
      return { errors: ["timestamp flag set but the frame is too short"] };
    }
    var seconds = ((b[end] << 24) | (b[end + 1] << 16) | (b[end + 2] << 8) | b[end + 3]) >>> 0;
    out.timestamp = new Date((seconds + 1356998400) * 1000).toJSON().replace("Z", "");
  }
  if ((end - 2) % 3 !== 0 || end === 2) {
    return { errors: ["samples must be groups of three bytes, got " + (end - 2)] };
  }
  var temperatures = [];
  var humidities = [];
  for (var i = 2; i < end; i += 3) {
    var t = (b[i] << 8) | b[i + 1];
    if (t > 0x7fff) t -= 0x10000;
    temperatures.push(t / 10);
    humidities.push(b[i + 2]);
  }
  out.decodingInfo = "values: [t=0, t-1, t-2, ...]";
  out.temperature = { unit: "\u00b0C", values: temperatures };
  out.humidity = { unit: "%", values: humidities };
  return { data: { bytes: out }, warnings: [] };
}
