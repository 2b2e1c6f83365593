export * from './hash';
export * from './arc';
export * from './ring';
export * from './planner';
