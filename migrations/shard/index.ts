import { Messages1763769600000 } from './1763769600000-messages';
import { Fence1763856000000 } from './1763856000000-fence';
import { Ownership1764028800000 } from './1764028800000-ownership';
import { ArcsTableLock1764115200000 } from './1764115200000-arcs-table-lock';
import { ReadMarks1764374400000 } from './1764374400000-read-marks';

/** Applied to every shard, and to a new shard before it takes any traffic. */
export const shardMigrations = [Messages1763769600000, Fence1763856000000, Ownership1764028800000, ArcsTableLock1764115200000, ReadMarks1764374400000];
