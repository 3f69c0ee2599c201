export { backoffDelay, checkBackoffPolicy, type BackoffPolicy } from './backoff.js';
