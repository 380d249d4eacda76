"""python-novaclient's Python API against Orrery's facade: microversion negotiation and error
mapping. Prints one JSON object of outcomes; the vitest file (test/openstack-novaclient.test.ts)
judges them. Arguments come from the environment, so no secret shows in a process list."""
import json
import os
import time

from keystoneauth1 import session
from keystoneauth1.identity import v3
from novaclient import api_versions, client, exceptions


def nova(user, password, project, version='2.latest'):
    auth = v3.Password(auth_url=os.environ['AUTH_URL'], username=user, password=password, project_name=project,
                       user_domain_name='Default', project_domain_name='Default')
    sess = session.Session(auth=auth)
    if version != '2.latest':
        return client.Client(version, session=sess)
    # As the nova shell negotiates: the newest version both the client and the server know.
    probe = client.Client('2.1', session=sess)
    return client.Client(api_versions.discover_version(probe, api_versions.APIVersion('2.latest')), session=sess)


def outcome(call):
    """The HTTP status and message novaclient raised, or 'ok'."""
    try:
        call()
        return {'status': 'ok'}
    except exceptions.ClientException as e:
        return {'status': e.code, 'message': e.message, 'class': type(e).__name__}


out = {}
a = nova(os.environ['A_USER'], os.environ['A_PASSWORD'], os.environ['A_PROJECT'])
b = nova(os.environ['B_USER'], os.environ['B_PASSWORD'], os.environ['B_PROJECT'])
server = os.environ['SERVER_ID']

# 2.latest negotiates down to the server's maximum; an explicit older version is honoured as asked.
out['negotiated'] = a.api_version.get_string()
old = nova(os.environ['A_USER'], os.environ['A_PASSWORD'], os.environ['A_PROJECT'], '2.1')
out['old_flavor'] = old.servers.get(server).flavor
out['new_flavor_keys'] = sorted(a.servers.get(server).flavor.keys())
# novaclient refuses to send a version it does not know; the session sends it as asked.
resp = a.client.session.get('/servers', endpoint_filter={'service_type': 'compute'}, raise_exc=False,
                            headers={'OpenStack-API-Version': 'compute 2.999'})
out['too_new'] = {'status': resp.status_code, 'message': resp.json()['notAcceptable']['message']}

out['other_project'] = outcome(lambda: b.servers.get(server))
out['other_project_stop'] = outcome(lambda: b.servers.stop(server))

a.servers.pause(server)
for _ in range(100):
    if a.servers.get(server).status == 'PAUSED':
        break
    time.sleep(0.2)
out['pause_again'] = outcome(lambda: a.servers.pause(server))
out['member_migrate'] = outcome(lambda: a.servers.migrate(server))
out['bad_input'] = outcome(lambda: a.client.post('/servers', body={'server': {'name': 'x', 'flavorRef': 'm1.small', 'imageRef': 'test-image', 'colour': 'red'}}))
out['bad_metadata'] = outcome(lambda: a.servers.set_meta(server, {'k': 'v' * 300}))
out['unknown_flavor'] = outcome(lambda: a.servers.create('y', image='test-image', flavor='no-such-flavor', nics='auto'))
print(json.dumps(out))
