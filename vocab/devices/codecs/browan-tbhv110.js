// Browan TBHV110 (Healthy Home IAQ) sensor, uplinks on fPort 103.
// Written for Allmende from Browan's "TBHV110 LoRaWAN payload" document (byte table for
// fPort 103); field names as Browan's decoder emits them. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 103) {
    return { errors: ["unknown fPort " + input.fPort + " (TBHV110 sends on fPort 103)"] };
  }
  if (b.length < 11) {
    return { errors: ["a TBHV110 uplink has 11 bytes"] };
  }
  return {
    data: {
      status: b[0] & 0x01,
      battery: (25 + (b[1] & 0x0f)) / 10,
      temperatureBoard: (b[2] & 0x7f) - 32,
      humidity: b[3] & 0x7f,
      eco2: (b[5] << 8) | b[4],
      voc: (b[7] << 8) | b[6],
      iaq: (b[9] << 8) | b[8],
      temperature: (b[10] & 0x7f) - 32
    }
  };
}
