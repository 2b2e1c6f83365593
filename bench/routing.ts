import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { JwtService } from '@nestjs/jwt';
import { freshRing, ringHash } from '../src/ring';
import { median } from './stats';

export interface RoutingResult {
  shards: number;
  /** Median over rounds of ns per Ring.ownerOf call on random hashes. */
  ownerOfNs: number;
}

const HASHES = 1 << 20;
const OPS = 2_000_000;
const ROUNDS = 5;

/** ns/op of `fn(i)` over OPS calls, median of ROUNDS rounds after one round of warm-up. */
function nsPerOp(fn: (i: number) => number): number {
  let sink = 0;
  const times: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) sink += fn(i);
    const ns = Number(process.hrtime.bigint() - start) / OPS;
    if (round > 0) times.push(ns);
  }
  // The sum is used so the JIT cannot drop the calls.
  if (sink === -1) console.log(sink);
  return median(times);
}

/** 4. The cost of finding a dialog's shard: a binary search over the ring's sorted points. */
export function measureRouting(sizes = [2, 16, 128, 1024]): { lookups: RoutingResult[]; crc32Ns: number } {
  const hashes = new Uint32Array(HASHES);
  for (let i = 0; i < HASHES; i++) hashes[i] = Math.floor(Math.random() * 4294967296);
  const lookups = sizes.map((n) => {
    const ring = freshRing(Array.from({ length: n }, (_, i) => `shard-${i}`));
    return { shards: n, ownerOfNs: nsPerOp((i) => ring.ownerOf(hashes[i & (HASHES - 1)]).length) };
  });
  // What a request pays before the lookup: CRC-32 of the dialog id's text.
  const ids = Array.from({ length: 4096 }, () => randomUUID());
  const crc32Ns = nsPerOp((i) => ringHash(ids[i & 4095]) & 1);
  return { lookups, crc32Ns };
}

export interface JwtCost {
  /** µs per verify with the secret given as a string. */
  stringSecretUs: number;
  /** The same with the secret given once as a crypto KeyObject, as AuthModule does. */
  keyObjectUs: number;
}

/** µs per call of fn over `calls` calls, median of 3 rounds after a warm-up round. */
function usPerCall(calls: number, fn: () => unknown): number {
  const times: number[] = [];
  for (let round = 0; round <= 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    if (round > 0) times.push(Number(process.hrtime.bigint() - start) / calls / 1000);
  }
  return median(times);
}

/**
 * What checking a bearer token costs through @nestjs/jwt, both ways. jsonwebtoken first tries to parse a non-KeyObject secret as a public key
 * (createPublicKey, which throws for an HMAC secret) before it falls back to a secret key,
 * on every verify; a KeyObject skips that. The profile shows where it lands.
 */
export function measureJwt(): JwtCost {
  const secret = randomBytes(32).toString('base64url');
  const asString = new JwtService({ secret });
  const asKey = new JwtService({ secret: createSecretKey(Buffer.from(secret)) as unknown as string });
  const token = asString.sign({ sub: 'alice' });
  const verify = (jwt: JwtService) => () => jwt.verify(token, { algorithms: ['HS256'] });
  return { stringSecretUs: usPerCall(1000, verify(asString)), keyObjectUs: usPerCall(5000, verify(asKey)) };
}
