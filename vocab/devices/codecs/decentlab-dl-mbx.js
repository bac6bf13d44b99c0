// Decentlab DL-MBX ultrasonic distance / level sensor: Decentlab protocol version 2.
// Written for Allmende from the DL-MBX data sheet's "Payload" section (protocol v2:
// version, device id, sensor flags, 16-bit big-endian words); field names as
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
    data.distance = { value: word(pos) };
    data.number_of_valid_samples = { value: word(pos + 2) };
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
