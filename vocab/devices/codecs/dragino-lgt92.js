// Dragino LGT-92 GPS tracker, uplinks on fPort 2.
// Written for Allmende from the byte layout in Dragino's "LGT-92 LoRaWAN GPS Tracker
// User Manual" (section "Uplink Payload"); field names as Dragino's decoder emits them.
// Licence: EUPL-1.2.
function int32(b, i) {
  return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
}

function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 2) {
    return { errors: ["unknown fPort " + input.fPort + " (LGT-92 sends on fPort 2)"] };
  }
  if (b.length < 11) {
    return { errors: ["an LGT-92 uplink has at least 11 bytes"] };
  }
  var data = {
    ALARM_status: (b[8] & 0x40) ? "TRUE" : "FALSE",
    BatV: (((b[8] & 0x3f) << 8) | b[9]) / 1000,
    MD: (b[10] >> 6) & 0x03,
    LON: (b[10] & 0x20) ? "ON" : "OFF"
  };
  var lat = int32(b, 0), lon = int32(b, 4);
  var warnings = [];
  if (lat === 0 && lon === 0) {
    warnings.push("no GPS fix");
  } else {
    data.latitude = lat / 1000000;
    data.longitude = lon / 1000000;
  }
  return { data: data, warnings: warnings };
}
