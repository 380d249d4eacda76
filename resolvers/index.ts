// Each module adds its queries, mutations and subscriptions to the builder when imported.
import './whoami.ts';
import './flavors.ts';
import './instances.ts';
import './instance-update.ts';
import './instance-operations.ts';
import './instance-subscriptions.ts';
import './hosts.ts';
import './agent.ts';
import './agent-reports.ts';
import './console-output.ts';
import './zones.ts';
import './aggregates.ts';
import './images.ts';
import './identity.ts';
