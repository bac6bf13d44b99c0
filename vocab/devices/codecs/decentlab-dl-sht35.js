// Decentlab DL-SHT35 air temperature and humidity sensor: Decentlab protocol version 2.
// Written for Allmende from the DL-SHT35 data sheet's "Payload" section (protocol v2;
// temperature = 175 * x / 65535 - 45, humidity = 100 * x / 65535); field names as
// Decentlab's decoder emits them (a member `value` per reading). Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 5 || b[0] !== 2) {
    return { errors: ["not a Decentlab protocol version 2 uplink"] };
  }
  function word(k) { return (b[k] << 8) | b[k + 1]; }
  var flags = word(3), pos = 5;
  var data = { protocol_version: 2, device_id: word(1) };
  if (flags & 0x01) {
    data.air_temperature = { value: 175 * word(pos) / 65535 - 45 };
    data.air_humidity = { value: 100 * word(pos + 2) / 65535 };
    pos += 4;
  }
  if (flags & 0x02) {
    data.battery_voltage = { value: word(pos) / 1000 };
    pos += 2;
  }
  if (pos > b.length) {
    return { errors: ["payload ends inside a value"] };
  }
  return { data: data };
}
