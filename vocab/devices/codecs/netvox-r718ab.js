// Netvox R718AB temperature and humidity sensor, reports on fPort 6.
// Written for Allmende from Netvox's "R718AB" user manual and the Netvox LoRaWAN
// Application Command document (report: version, device type 0x13, report type 0x01,
// battery 0.1 V, temperature 0.01 degC signed, humidity 0.01 %); field names as Netvox's
// decoder emits them. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 6) {
    return { errors: ["unknown fPort " + input.fPort + " (reports come on fPort 6)"] };
  }
  if (b.length < 8) {
    return { errors: ["a Netvox report has 11 bytes"] };
  }
  if (b[2] === 0x00) {
    return { data: { Device: "R718AB", SWver: b[3] / 10, HWver: b[4] } };
  }
  var t = (b[4] << 8) | b[5];
  if (t > 0x7fff) t -= 0x10000;
  var data = { Device: "R718AB", Temp: t / 100, Humi: ((b[6] << 8) | b[7]) / 100 };
  var warnings = [];
  data.Volt = (b[3] & 0x7f) / 10;
  if (b[3] & 0x80) warnings.push("low battery");
  return { data: data, warnings: warnings };
}
