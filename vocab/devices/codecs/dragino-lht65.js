// Dragino LHT65 temperature and humidity sensor, uplinks on fPort 2.
// Written for Allmende from the byte layout in Dragino's "LHT65 Temperature & Humidity
// Sensor User Manual" (section "Uplink Payload"); field names as Dragino's decoder
// emits them. Licence: EUPL-1.2.
function int16(hi, lo) {
  var v = (hi << 8) | lo;
  return v > 0x7fff ? v - 0x10000 : v;
}

function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) {
    return { errors: ["unknown fPort " + input.fPort + " (LHT65 sends on fPort 2)"] };
  }
  if (b.length < 7) {
    return { errors: ["an LHT65 uplink has at least 7 bytes"] };
  }
  var warnings = [];
  var data = {
    BatV: (((b[0] << 8) | b[1]) & 0x3fff) / 1000,
    Bat_status: b[0] >> 6,
    TempC_SHT: int16(b[2], b[3]) / 100,
    Hum_SHT: (((b[4] << 8) | b[5]) & 0x0fff) / 10
  };
  var ext = b[6] & 0x0f;
  if (ext === 0) {
    data.Ext_sensor = "No external sensor";
  } else if (ext === 1 && b.length >= 9) {
    data.Ext_sensor = "Temperature Sensor";
    var raw = int16(b[7], b[8]);
    if (raw === 0x7fff) {
      warnings.push("external temperature sensor not connected");
    } else {
      data.TempC_DS = raw / 100;
    }
  } else if (ext === 5 && b.length >= 9) {
    data.Work_mode = "Illumination Sensor";
    data.ILL_lx = (b[7] << 8) | b[8];
  } else if (ext === 6 && b.length >= 9) {
    data.Work_mode = "ADC Sensor";
    data.ADC_V = ((b[7] << 8) | b[8]) / 1000;
  }
  return { data: data, warnings: warnings };
}
