// Dragino LDDS75 ultrasonic distance sensor (e.g. water level, bin fill), fPort 2.
// Written for Allmende from the byte layout in Dragino's "LDDS75 - LoRaWAN Distance
// Detection Sensor User Manual" (section "Uplink Payload"); field names as Dragino's
// decoder emits them, numbers without unit text. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) {
    return { errors: ["unknown fPort " + input.fPort + " (LDDS75 sends on fPort 2)"] };
  }
  if (b.length < 8) {
    return { errors: ["an LDDS75 uplink has 8 bytes"] };
  }
  var data = {
    Bat: (((b[0] << 8) | b[1]) & 0x3fff) / 1000,
    Interrupt_flag: b[4],
    Sensor_flag: b[7]
  };
  var warnings = [];
  var distance = (b[2] << 8) | b[3];
  if (distance === 0) {
    warnings.push("no ultrasonic sensor connected");
  } else if (distance < 20) {
    warnings.push("invalid distance reading");
  } else {
    data.Distance = distance;
  }
  var t = (b[5] << 8) | b[6];
  if (t > 0x7fff) t -= 0x10000;
  data.TempC_DS18B20 = t / 10;
  return { data: data, warnings: warnings };
}
