// Nwave NPS405 parking sensor (also NPS310, NCC405): fPort 1 parking status,
// fPort 2 heartbeat, fPort 3 start-up.
// Written for Allmende from Nwave's "LoRaWAN Parking Sensor" uplink description
// (status: bit 7 occupied, bits 0-6 compressed duration of the previous state;
// heartbeat: battery 2500 mV + 4 mV per step, temperature int8 / 2 + 10 degC); field
// names as Nwave's decoder emits them. Licence: EUPL-1.2.
function previousDuration(c) {
  if (c < 90) return c;
  if (c < 120) return 90 + (c - 90) * 5;
  if (c < 127) return 240 + (c - 120) * 60;
  return 660;
}

function decodeUplink(input) {
  var b = input.bytes;
  if (b.length < 1) {
    return { errors: ["empty payload"] };
  }
  var data = { occupied: ((b[0] >> 7) & 1) === 1 };
  if (input.fPort === 1) {
    data.type = "parking_status";
    data.previous_state_duration = previousDuration(b[0] & 0x7f);
  } else if (input.fPort === 2 && b.length >= 3) {
    data.type = "heartbeat";
    data.hw_health_status = b[0] & 0x7f;
    data.battery_voltage = (2500 + b[1] * 4) / 1000;
    data.temperature = ((b[2] << 24) >> 24) / 2 + 10;
  } else if (input.fPort === 3 && b.length >= 5) {
    data.type = "startup";
    data.firmware_version = b[0] + "." + b[1] + "." + b[2];
    data.occupied = (b[4] & 1) === 1;
  } else {
    return { errors: ["unknown fPort " + input.fPort] };
  }
  return { data: data };
}
