import { isConnectionError } from './db-errors';

describe('isConnectionError', () => {
  it.each([
    ['connection refused', { message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' }],
    ['server shutting down (57P01)', { message: 'terminating connection due to administrator command', code: '57P01' }],
    ['server starting up (57P03)', { message: 'the database system is starting up', code: '57P03' }],
    ['connection class 08', { message: 'connection failure', code: '08006' }],
    ['a dropped socket', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a statement timeout', { message: 'canceling statement due to statement timeout', code: '57014' }],
  ])('is true for %s', (_name, err) => {
    expect(isConnectionError(err)).toBe(true);
  });

  it.each([
    ['a unique violation', { message: 'duplicate key value violates unique constraint', code: '23505' }],
    ['a syntax error', { message: 'syntax error at or near "SELEC"', code: '42601' }],
    ['a user cancel', { message: 'canceling statement due to user request', code: '57014' }],
    ['a plain bug', new TypeError('cannot read properties of undefined')],
    ['not an error', 'ECONNREFUSED'],
    ['null', null],
  ])('is false for %s', (_name, err) => {
    expect(isConnectionError(err)).toBe(false);
  });
});
