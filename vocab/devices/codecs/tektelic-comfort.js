// TEKTELIC COMFORT Smart Room Sensor (base), fPort 10 sensor data: a sequence of
// channel/type pairs, each followed by its value. Written for Allmende from the layout
// Tektelic documents for this sensor (its technical reference manual, and the uplink
// examples Tektelic published for The Things Stack's device repository, codec
// t00061xx-codec): 0x00 0xBA battery voltage (uint16 mV; bit 15 is the end-of-service
// flag), 0x03 0x67 ambient temperature (int16 / 10 degC), 0x04 0x68 relative humidity
// (uint8 / 2 %), 0x02 0x00 light detected (uint8), 0x0A 0x00 motion event state (uint8).
// Field names as Tektelic's decoder emits them. Other channels are reported as warnings
// (their length is not known here, so decoding stops there). Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 10) {
    return { errors: ["unknown fPort " + input.fPort + " (COMFORT sends sensor data on fPort 10)"] };
  }
  var data = {};
  var warnings = [];
  var i = 0;
  while (i + 1 < b.length) {
    var channel = b[i];
    var type = b[i + 1];
    i += 2;
    if (channel === 0x00 && type === 0xba && i + 2 <= b.length) {
      var mv = (b[i] << 8) | b[i + 1];
      data.battery_voltage = (mv & 0x7fff) / 1000;
      if (mv & 0x8000) warnings.push("battery at end of service");
      i += 2;
    } else if (channel === 0x03 && type === 0x67 && i + 2 <= b.length) {
      var t = (b[i] << 8) | b[i + 1];
      if (t > 0x7fff) t -= 0x10000;
      data.ambient_temperature = t / 10;
      i += 2;
    } else if (channel === 0x04 && type === 0x68 && i + 1 <= b.length) {
      data.relative_humidity = b[i] / 2;
      i += 1;
    } else if (channel === 0x02 && type === 0x00 && i + 1 <= b.length) {
      data.light_detected = b[i];
      i += 1;
    } else if (channel === 0x0a && type === 0x00 && i + 1 <= b.length) {
      data.motion_event_state = b[i];
      i += 1;
    } else {
      warnings.push(
        "unknown channel 0x" + ("0" + channel.toString(16)).slice(-2) +
          " type 0x" + ("0" + type.toString(16)).slice(-2)
      );
      break;
    }
  }
  return { data: data, warnings: warnings };
}
