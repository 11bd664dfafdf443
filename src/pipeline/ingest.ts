import { Observable, type OperatorFunction } from 'rxjs';
import type { ParseResult, RawMessage, Window } from '../contract/types.js';
import type { MessageParser } from './parse.js';
import type { Windower } from './window.js';

/**
 * parseMessages + windowReadings fused into one synchronous step per message: the same two stages, with
 * no RxJS subscription per reading (a burst of a thousand readings is a plain loop). `onParsed` sees every
 * parse result (counting, rejections) before its readings are windowed.
 *
 *   -m1--m2(burst)-m3-|      ingest(parser, windower, onParsed)
 *   -----w1-w2-----w3-|      (a window every hop steps per sensor; flushed at completion)
 */
export function ingest(parser: MessageParser, windower: Windower, onParsed: (result: ParseResult) => void): OperatorFunction<RawMessage, Window> {
  return (source) =>
    new Observable<Window>((subscriber) =>
      source.subscribe({
        next(msg) {
          const result = parser.parse(msg);
          onParsed(result);
          if (result.kind !== 'readings') return;
          const readings = result.readings;
          for (let i = 0; i < readings.length; i++) {
            const windows = windower.push(readings[i]);
            if (windows !== null) for (const w of windows) subscriber.next(w);
          }
        },
        error(err: unknown) {
          subscriber.error(err);
        },
        complete() {
          for (const w of windower.flush()) subscriber.next(w);
          subscriber.complete();
        },
      }),
    );
}
