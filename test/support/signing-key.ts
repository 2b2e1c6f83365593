import { CryptoKey, exportJWK, exportSPKI, generateKeyPair, JWK } from 'jose';

/** An identity provider's signing key: the private half signs, the public half as a JWKS entry and as PEM. */
export interface SigningKey {
  alg: 'RS256' | 'ES256';
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
  pem: string;
}

export async function signingKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, pem: await exportSPKI(publicKey) };
}
