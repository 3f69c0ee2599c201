import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Stands in for docker-flow-swarm-listener, whose image cannot be pulled here, by sending exactly
 * what it sends (service/parameters.go, service/notifier.go in its repository) with
 * DF_NOTIFY_*_SERVICE_METHOD=POST, to the URLs scripts/create-secrets.sh puts in its secrets
 * (the notification token as their last path segment; the listener replaces a URL's query with
 * its parameters, so the token could not travel there):
 *   create/update: POST <base>/api/notify/create/<token>?serviceName=<name>&replicas=<n>&distribute=true
 *   remove:        POST <base>/api/notify/remove/<token>?serviceName=<name>&distribute=true
 * with an empty body.
 * `distribute` is "true" unless the service has a com.df.distribute label; com.df.* labels would be
 * added too (the test's services have none). Like the listener, anything but a 200 is retried
 * (DF_RETRY times, DF_RETRY_INTERVAL apart: 50 x 5 s there, 60 x 1 s here to keep the run short).
 */
export interface NotificationResult {
  /** Requests sent until one answered 200. */
  readonly attempts: number;
}

export class ListenerNotifications {
  constructor(
    private readonly baseUrl: string,
    /** The notification token (the oauth_notify_token copy create-secrets.sh --out keeps). */
    private readonly token: () => string,
    private readonly retries = 60,
    private readonly retryIntervalMs = 1000,
  ) {}

  create(serviceName: string, replicas = 1): Promise<NotificationResult> {
    return this.send('create', { serviceName, replicas: String(replicas), distribute: 'true' });
  }

  remove(serviceName: string): Promise<NotificationResult> {
    return this.send('remove', { serviceName, distribute: 'true' });
  }

  private async send(kind: 'create' | 'remove', params: Record<string, string>): Promise<NotificationResult> {
    const url = `${this.baseUrl}/api/notify/${kind}/${this.token()}?${new URLSearchParams(params).toString()}`;
    let last = 'no answer';
    for (let attempt = 1; attempt <= this.retries; attempt++) {
      try {
        const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(5000) });
        await response.arrayBuffer();
        if (response.status === 200) return { attempts: attempt };
        last = `HTTP ${response.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(this.retryIntervalMs);
    }
    throw new Error(
      `the ${kind} notification for ${params.serviceName} got no 200 in ${this.retries} tries (${last})`,
    );
  }
}
