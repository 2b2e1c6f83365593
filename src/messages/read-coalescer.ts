interface Flight<V> {
  readonly result: Promise<V>;
  /** False once a write to the dialog was acknowledged after this read was sent. */
  joinable: boolean;
}

/**
 * Single-flight for page reads of hot dialogs: a read that arrives while an identical one
 * (same dialog, same page) is in flight shares its answer, unless a write to that dialog was
 * acknowledged since the shared read was sent, which that read may not see. So a page never
 * misses a message this instance acknowledged before the read arrived, and a dialog that
 * thousands of clients poll costs the shard one query per round trip, not one per client.
 */
export class ReadCoalescer<V> {
  private readonly flights = new Map<string, Map<string, Flight<V>>>();

  /** Runs `read`, or joins the identical read in flight. */
  read(dialogId: string, page: string, read: () => Promise<V>): Promise<V> {
    let ofDialog = this.flights.get(dialogId);
    const shared = ofDialog?.get(page);
    if (shared?.joinable) return shared.result;
    if (!ofDialog) {
      ofDialog = new Map();
      this.flights.set(dialogId, ofDialog);
    }
    const flight: Flight<V> = { result: read(), joinable: true };
    ofDialog.set(page, flight);
    const land = () => {
      const current = this.flights.get(dialogId);
      if (current?.get(page) !== flight) return;
      current.delete(page);
      if (current.size === 0) this.flights.delete(dialogId);
    };
    flight.result.then(land, land);
    return flight.result;
  }

  /** A write to the dialog was acknowledged: reads in flight may predate it, so none is joined again. */
  wrote(dialogId: string): void {
    for (const flight of this.flights.get(dialogId)?.values() ?? []) flight.joinable = false;
  }

  /** Reads in flight, for tests and metrics. */
  get inFlight(): number {
    let n = 0;
    for (const ofDialog of this.flights.values()) n += ofDialog.size;
    return n;
  }
}
