import { grantsAllJobs, type KeyEntry } from '../auth/key-store.ts';
import type { SurfaceConfig } from '../routing/routing-config.ts';
import type { JobLedger, JobRecord } from './job-ledger.ts';

/**
 * The job is not one this key may act on: unknown to the ledger, expired, on another surface,
 * or another consumer's. One answer for all of them, so a caller learns nothing about other
 * consumers' job ids.
 */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
}

export interface JobAccessRequest {
  readonly ledger: JobLedger;
  readonly jobId: string;
  readonly key: KeyEntry;
  readonly surfaceName: string;
  readonly surface: SurfaceConfig;
}

/**
 * The recorded job a follow-up call acts on, after the ownership check: its owner, or a key
 * granted all jobs of the surface. `undefined` means the ledger never saw the job and the
 * surface lets such jobs through (`allowUnrecordedJobs`); then it is routed as the request says.
 */
export async function jobForFollowUp(request: JobAccessRequest): Promise<JobRecord | undefined> {
  const { ledger, jobId, key, surfaceName, surface } = request;
  const job = await ledger.find(jobId);
  if (job === undefined) {
    if (surface.allowUnrecordedJobs === true) return undefined;
    throw new JobNotFoundError(`No job ${jobId} on surface ${surfaceName}`);
  }
  const owned = job.ownerKeyId === key.id || grantsAllJobs(key, surfaceName);
  if (job.surface !== surfaceName || !owned) {
    throw new JobNotFoundError(`No job ${jobId} on surface ${surfaceName}`);
  }
  return job;
}
