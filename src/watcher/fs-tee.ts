// One file-event source heard by two: the arrival tracker and a second listener (the parts spool, which follows
// parts wherever they appear). The listener hears every event before the tracker does.
import type { FsEvent, FsEventSource } from './fs-events.js';

export function teeEvents(source: FsEventSource, listener: (e: FsEvent) => void): FsEventSource {
  return {
    start: (roots, onEvent, onError) =>
      source.start(
        roots,
        (e) => {
          listener(e);
          onEvent(e);
        },
        onError,
      ),
    add: (root) => source.add(root),
    close: () => source.close(),
  };
}
