// Dragino LSE01 soil moisture and EC sensor, uplinks on fPort 2.
// Written for Allmende from the byte layout in Dragino's "LSE01 LoRaWAN Soil Moisture &
// EC Sensor User Manual" (section "Uplink Payload"); field names as Dragino's decoder
// emits them. Licence: EUPL-1.2.
function int16(hi, lo) {
  var v = (hi << 8) | lo;
  return v > 0x7fff ? v - 0x10000 : v;
}

function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) {
    return { errors: ["unknown fPort " + input.fPort + " (LSE01 sends on fPort 2)"] };
  }
  if (b.length < 11) {
    return { errors: ["an LSE01 uplink has 11 bytes"] };
  }
  return {
    data: {
      Bat: (((b[0] << 8) | b[1]) & 0x3fff) / 1000,
      TempC_DS18B20: int16(b[2], b[3]) / 10,
      water_SOIL: ((b[4] << 8) | b[5]) / 100,
      temp_SOIL: int16(b[6], b[7]) / 100,
      conduct_SOIL: (b[8] << 8) | b[9],
      i_flag: b[10] & 0x01,
      s_flag: (b[10] >> 7) & 0x01
    }
  };
}
