// Elsys sensors (ERS, ERS CO2, ERS Sound, ELT-2, EMS Door ...): one type-value list.
// Written for Allmende from Elsys's published "Elsys LoRa payload" specification (the
// type table: 0x01 temperature ... 0x15 sound); field names as Elsys's decoder emits
// them. Licence: EUPL-1.2.
function u16(b, i) { return (b[i] << 8) | b[i + 1]; }
function s16(b, i) { var v = u16(b, i); return v > 0x7fff ? v - 0x10000 : v; }
function u32(b, i) { return ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3]; }

function decodeUplink(input) {
  var b = input.bytes;
  var data = {};
  var warnings = [];
  var i = 0;
  while (i < b.length) {
    var type = b[i++];
    switch (type) {
      case 0x01: data.temperature = s16(b, i) / 10; i += 2; break;
      case 0x02: data.humidity = b[i]; i += 1; break;
      case 0x03:
        data.x = (b[i] << 24) >> 24; data.y = (b[i + 1] << 24) >> 24; data.z = (b[i + 2] << 24) >> 24;
        i += 3; break;
      case 0x04: data.light = u16(b, i); i += 2; break;
      case 0x05: data.motion = b[i]; i += 1; break;
      case 0x06: data.co2 = u16(b, i); i += 2; break;
      case 0x07: data.vdd = u16(b, i); i += 2; break;
      case 0x08: data.analog1 = u16(b, i); i += 2; break;
      case 0x0a: data.pulse1 = u16(b, i); i += 2; break;
      case 0x0b: data.pulseAbs = u32(b, i); i += 4; break;
      case 0x0c: data.externalTemperature = s16(b, i) / 10; i += 2; break;
      case 0x0d: data.digital = b[i]; i += 1; break;
      case 0x0e: data.distance = u16(b, i); i += 2; break;
      case 0x0f: data.accMotion = b[i]; i += 1; break;
      case 0x11: data.occupancy = b[i]; i += 1; break;
      case 0x12: data.waterleak = b[i]; i += 1; break;
      case 0x14: data.pressure = u32(b, i) / 1000; i += 4; break;
      case 0x15: data.soundPeak = b[i]; data.soundAvg = b[i + 1]; i += 2; break;
      default:
        warnings.push("unknown Elsys type 0x" + type.toString(16) + " at byte " + (i - 1));
        return { data: data, warnings: warnings };
    }
  }
  if (i > b.length) {
    return { errors: ["payload ends inside a value"] };
  }
  return { data: data, warnings: warnings };
}
