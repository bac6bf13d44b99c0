// Milesight devices (EM300-TH, EM320-TH, AM103, WS101, WS301, EM400-MUD, EM500-SMTC,
// EM300-DI, VS121, WS558):
// one channel-type-value list, little-endian.
// Written for Allmende from the "Uplink Data" tables in Milesight's user guides of these
// devices; field names as Milesight's decoders emit them. Licence: EUPL-1.2.
function u16(b, i) { return b[i] | (b[i + 1] << 8); }
function s16(b, i) { var v = u16(b, i); return v > 0x7fff ? v - 0x10000 : v; }
function u32(b, i) { return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16)) + b[i + 3] * 16777216; }

var SKIP = { 0x01: 1, 0x08: 6, 0x09: 2, 0x0a: 2, 0x0b: 1, 0x0f: 1, 0x16: 8, 0x18: 2 };
var PRESS = { 1: "short", 2: "long", 3: "double" };

function decodeUplink(input) {
  var b = input.bytes;
  var data = {};
  var i = 0;
  while (i + 1 < b.length) {
    var channel = b[i], type = b[i + 1];
    i += 2;
    if (channel === 0xff && type in SKIP) { i += SKIP[type]; }
    else if (channel === 0x01 && type === 0x75) { data.battery = b[i]; i += 1; }
    else if (channel === 0x03 && type === 0x67) { data.temperature = s16(b, i) / 10; i += 2; }
    else if (channel === 0x04 && type === 0x68) { data.humidity = b[i] / 2; i += 1; }
    else if (channel === 0x07 && type === 0x7d) { data.co2 = u16(b, i); i += 2; }
    else if (channel === 0x04 && type === 0x82) { data.distance = u16(b, i); i += 2; }
    else if (channel === 0x05 && type === 0x00) { data.position = b[i] === 0 ? "normal" : "tilt"; i += 1; }
    else if (channel === 0x05 && type === 0x7f) { data.conductivity = u16(b, i); i += 2; }
    else if (channel === 0x03 && type === 0x00) { data.magnet_status = b[i] === 0 ? "close" : "open"; i += 1; }
    else if (channel === 0x04 && type === 0x00) { data.tamper_status = b[i] === 0 ? "installed" : "uninstalled"; i += 1; }
    else if (channel === 0xff && type === 0x2e) { data.press = PRESS[b[i]] || "unknown"; i += 1; }
    else if (channel === 0x05 && type === 0xc8) { data.pulse = u32(b, i); i += 4; }
    else if (channel === 0x04 && type === 0xc9) {
      data.people_counter_all = b[i];
      data.region_count = b[i + 1];
      i += 4;
    }
    else if (channel === 0x03 && type === 0x74) { data.voltage = u16(b, i) / 10; i += 2; }
    else if (channel === 0x04 && type === 0x80) { data.active_power = u32(b, i); i += 4; }
    else if (channel === 0x05 && type === 0x81) { data.power_factor = b[i]; i += 1; }
    else if (channel === 0x06 && type === 0x83) { data.power_consumption = u32(b, i); i += 4; }
    else if (channel === 0x07 && type === 0xc9) { data.total_current = u16(b, i); i += 2; }
    else if (channel === 0x08 && type === 0x31) {
      for (var k = 0; k < 8; k++) {
        data["switch_" + (k + 1)] = ((b[i + 1] >> k) & 1) === 1 ? "on" : "off";
      }
      i += 2;
    }
    else {
      return { data: data, warnings: ["unknown channel 0x" + channel.toString(16) + " type 0x" + type.toString(16)] };
    }
  }
  if (i > b.length) {
    return { errors: ["payload ends inside a value"] };
  }
  return { data: data };
}
