// Netvox R311A door/window sensor, reports on fPort 6.
// Written for Allmende from Netvox's "R311A" user manual and the Netvox LoRaWAN
// Application Command document (report: version, device type 0x02, report type 0x01,
// battery 0.1 V, contact 1 = open / 0 = closed); field names as Netvox's decoder emits
// them. Licence: EUPL-1.2.
function decodeUplink(input) {
  var b = input.bytes;
  if (input.fPort !== 6) {
    return { errors: ["unknown fPort " + input.fPort + " (reports come on fPort 6)"] };
  }
  if (b.length < 5) {
    return { errors: ["a Netvox report has 11 bytes"] };
  }
  if (b[2] === 0x00) {
    return { data: { Device: "R311A", SWver: b[3] / 10, HWver: b[4] } };
  }
  var warnings = [];
  if (b[3] & 0x80) warnings.push("low battery");
  return { data: { Device: "R311A", Volt: (b[3] & 0x7f) / 10, OnOff: b[4] }, warnings: warnings };
}
