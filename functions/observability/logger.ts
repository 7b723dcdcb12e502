import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The one logger. Log lines carry only the fields named at each call: never whole events
 * (they hold the Authorization header), bodies, tokens, RunPod keys or `s3Config`.
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'runpod-gateway',
});
