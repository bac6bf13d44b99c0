// Sensative Strips (Comfort, Guard, Drip ...), uplinks on fPort 1.
// Written for Allmende from Sensative's "Strips LoRaWAN payload" description (two-byte
// history sequence number, then type-value reports); field names as Sensative's decoder
// emits them. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 1) {
    return { errors: ["unknown fPort " + input.fPort + " (Strips report on fPort 1)"] };
  }
  if (b.length < 2) {
    return { errors: ["a Strips report has at least 2 bytes"] };
  }
  var data = { historySeqNr: (b[0] << 8) | b[1] };
  var pos = 2;
  function s16() { var v = (b[pos] << 8) | b[pos + 1]; pos += 2; return v > 0x7fff ? v - 0x10000 : v; }
  function u16() { var v = (b[pos] << 8) | b[pos + 1]; pos += 2; return v; }
  while (pos < b.length) {
    var type = b[pos++] & 0x7f;
    switch (type) {
      case 0: break;
      case 1: data.battery = b[pos++]; break;
      case 2: data.temperature = { value: s16() / 10 }; break;
      case 4: data.averageTemperature = { value: s16() / 10 }; break;
      case 6: data.humidity = { value: b[pos++] / 2 }; break;
      case 7: data.lux = { value: u16() }; break;
      case 9: data.door = { value: b[pos++] !== 0 }; break;
      case 13: data.flood = { value: b[pos++] }; break;
      case 17: data.doorCount = { value: u16() }; break;
      case 18: data.presence = { value: b[pos++] !== 0 }; break;
      default:
        return { data: data, warnings: ["unknown Strips report type " + type] };
    }
  }
  if (pos > b.length) {
    return { errors: ["payload ends inside a value"] };
  }
  return { data: data };
}
