/** The call params that name a storage domain or an image, for `match.domain` / `match.image`. */
export const DOMAIN_PARAMS = ['storagedomainID', 'dstSdUUID', 'sdUUID'] as const;
export const IMAGE_PARAMS = ['imageID', 'imgUUID'] as const;
