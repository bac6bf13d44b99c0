// Browan TBMS100 motion sensor (room occupancy), uplinks on fPort 102.
// Written for Allmende from Browan's "TBMS100 LoRaWAN payload" document (byte table for
// fPort 102); field names as Browan's decoder emits them. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 102) {
    return { errors: ["unknown fPort " + input.fPort + " (TBMS100 sends on fPort 102)"] };
  }
  if (b.length < 8) {
    return { errors: ["a TBMS100 uplink has 8 bytes"] };
  }
  return {
    data: {
      status: b[0] & 0x01,
      battery: (25 + (b[1] & 0x0f)) / 10,
      temperatureBoard: (b[2] & 0x7f) - 32,
      time: (b[4] << 8) | b[3],
      count: (b[7] << 16) | (b[6] << 8) | b[5]
    }
  };
}
