from .test_dns import *
from ansible_collections.mitosis.rds.plugins.module_utils import dns as D

def test_dbg():
    aside = PRODUCTION + stack("", 1, root_tags=[KEPT]) + [member("rej-demo-a", 5, tags=[REJECTED])]
    g = graph_of(aside, records_at(""))
    print(D.dns_name_forms("demo"), D.OLD, D.REJECTED, g.get("rej-demo-a") is not None)
    n = D.DnsNode("demo", None, g, g.get("demo"))
    print([i["DBInstanceIdentifier"] for i in n.aside])
    import inspect; print(inspect.getsource(D.DnsNode.__init__)[:1500])
    assert 0
