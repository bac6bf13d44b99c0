// Dragino LDS02 door sensor, uplinks on fPort 10.
// Written for Allmende from the byte layout in Dragino's "LDS02 - LoRaWAN Door Sensor
// User Manual" (section "Uplink Payload"); field names as Dragino's decoder emits them.
// Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 10) {
    return { errors: ["unknown fPort " + input.fPort + " (LDS02 sends on fPort 10)"] };
  }
  if (b.length < 10) {
    return { errors: ["an LDS02 uplink has 10 bytes"] };
  }
  return {
    data: {
      DOOR_OPEN_STATUS: (b[0] & 0x80) ? 1 : 0,
      BAT_V: (((b[0] << 8) | b[1]) & 0x3fff) / 1000,
      MOD: b[2],
      DOOR_OPEN_TIMES: (b[3] << 16) | (b[4] << 8) | b[5],
      LAST_DOOR_OPEN_DURATION: (b[6] << 16) | (b[7] << 8) | b[8],
      ALARM: b[9] & 0x01
    }
  };
}
