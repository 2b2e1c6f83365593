import { Initial1763769600000 } from './1763769600000-initial';
import { Resharding1763856000000 } from './1763856000000-resharding';
import { InstanceLease1764028800000 } from './1764028800000-instance-lease';
import { InstanceStrain1764201600000 } from './1764201600000-instance-strain';
import { Events1764288000000 } from './1764288000000-events';
import { InstanceWriteRates1764460800000 } from './1764460800000-instance-write-rates';

/** Listed by hand so the same array works compiled and under jest, with no glob paths. */
export const dialogDbMigrations = [Initial1763769600000, Resharding1763856000000, InstanceLease1764028800000, InstanceStrain1764201600000, Events1764288000000, InstanceWriteRates1764460800000];
