/**
 * The span (ms) within which a sensor's silence may be a link's stall, not the sensor's: one and a half keepalive
 * intervals (`keepaliveSec` s, 30 s when 0), as an MQTT broker waits on a client before it takes the connection for
 * dead (MQTT 3.1.1, section 3.1.2.10), so a hub's or the daemon's stalled connection is known down only then. A
 * silence shorter than `window.resetAfter` intervals is judged while it lasts only once longer than this
 * (Detector.judgeSilence): a 25 s pause of a 1 Hz hub opens nothing (tryout 15, finding 4), a 5 min sensor's death
 * is told a few intervals after it (issue 10). 45,000 ms for the shipped 30 s.
 */
export function silenceLinkMs(keepaliveSec: number): number {
  return 1.5 * (keepaliveSec > 0 ? keepaliveSec : 30) * 1000;
}
