/**
 * Usage writes gathered into batches: records arriving within `lingerMs` of each other go to the
 * store in one BatchWriteItem (up to 25), which divides the per-call cost (request signing, HTTP,
 * the store's own work) by the batch size under load. Each caller still learns whether its own
 * record was written, so the relay's retry-then-log path is unchanged. Writing a record twice is
 * harmless: the item's key is its key id, time and request id.
 */
import type { UsageStore } from '../../core/ports';
import type { UsageRecord } from '../../core/usage';

export interface BatchUsageTarget {
  putBatch(records: readonly UsageRecord[]): Promise<void>;
}

interface Pending {
  readonly record: UsageRecord;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class BatchingUsageWriter implements UsageStore {
  private pending: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly target: BatchUsageTarget,
    private readonly options: { readonly maxBatch?: number; readonly lingerMs?: number } = {},
  ) {}

  put(record: UsageRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs ?? 10);
    });
  }

  private get maxBatch(): number {
    return Math.min(25, this.options.maxBatch ?? 25);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.target.putBatch(batch.map((p) => p.record)).then(
        () => batch.forEach((p) => p.resolve()),
        (error) => batch.forEach((p) => p.reject(error)),
      );
    }
  }
}
