import { notifyFromContainer, type NotifyAnswer } from './in-container.js';
import type { SwarmNodes } from './swarm-nodes.js';

/**
 * Stands in for docker-flow-swarm-listener, whose image cannot be pulled here, by sending exactly
 * what it sends (service/parameters.go, service/notifier.go in its repository) with
 * DF_NOTIFY_*_SERVICE_METHOD=POST, from where it sends it: inside the stack's swarm-listener task
 * (stack.test.yml runs a stand-in there), on the service-management network, to the URLs of its own
 * secrets df_notify_create_service_url / df_notify_remove_service_url:
 *   create/update: POST <url>?distribute=true&replicas=<n>&serviceName=<name>
 *   remove:        POST <url>?distribute=true&serviceName=<name>
 * with an empty body. `distribute` is "true" unless the service has a com.df.distribute label;
 * com.df.* labels would be added too (the test's services have none). Like the listener, anything but
 * a 200 (or a 409 for a create) is retried (DF_RETRY times, DF_RETRY_INTERVAL apart: 50 x 5 s in
 * stack.yml, 60 x 1 s here to keep the run short).
 */
export class ListenerNotifications {
  constructor(
    private readonly nodes: SwarmNodes,
    /** The stack's swarm-listener service (its full name). */
    private readonly listenerService: string,
    private readonly retry = { retries: 60, intervalMs: 1000 },
  ) {}

  create(serviceName: string, replicas = 1): Promise<NotifyAnswer> {
    return this.delivered('create', { serviceName, replicas: String(replicas), distribute: 'true' });
  }

  remove(serviceName: string): Promise<NotifyAnswer> {
    return this.delivered('remove', { serviceName, distribute: 'true' });
  }

  /** One notification as sent, whatever its outcome (the caller asserts on it). */
  async send(kind: 'create' | 'remove', params: Record<string, string>): Promise<NotifyAnswer> {
    const listener = await this.nodes.onlyTask(this.listenerService);
    return notifyFromContainer(this.nodes, listener, kind, params, this.retry);
  }

  private async delivered(kind: 'create' | 'remove', params: Record<string, string>): Promise<NotifyAnswer> {
    const answer = await this.send(kind, params);
    if (!answer.done) {
      throw new Error(
        `the ${kind} notification for ${params.serviceName} was not accepted in ${answer.attempts} tries ` +
          `(answers: ${answer.answers.join(', ')})`,
      );
    }
    return answer;
  }
}
