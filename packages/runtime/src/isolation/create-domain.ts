import type { Domain, DomainKind, DomainOptions } from './domain.js';
import { InlineDomain } from './inline-domain.js';
import { ProcessDomain } from './process-domain.js';
import { WorkerDomain } from './worker-domain.js';

export function createDomain(kind: DomainKind, options: DomainOptions): Domain {
  switch (kind) {
    case 'worker': return new WorkerDomain(options);
    case 'process': return new ProcessDomain(options);
    case 'none': return new InlineDomain(options);
  }
}
