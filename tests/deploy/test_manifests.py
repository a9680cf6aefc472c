"""examples/deploy/kubernetes: every manifest is valid against the
Kubernetes 1.27 JSON schemas (tests/deploy/schemas, offline), strictly (a
misspelt field fails), and the manifests agree with each other and with
the daemons: what a pod refers to is defined, selectors select, the
environment variables are ones the daemons read, the configuration parses."""

import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import jsonschema
import yaml

ROOT = os.environ.get("FANGS_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("FANGS_BUILD_ROOT", os.path.join(ROOT, "build"))
KUBE = os.path.join(ROOT, "examples", "deploy", "kubernetes")
SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas", "kubernetes-1.27.1.json")
FANGS = os.environ.get("FANGS_CLI", os.path.join(BUILD, "tools", "fangs", "fangs"))
ORCH = os.environ.get("FANGS_ORCHESTRATOR_BIN", os.path.join(BUILD, "tools", "fangs-orchestrator", "fangs-orchestrator"))
RUNNER = os.environ.get("FANGS_RUNNER_BIN", os.path.join(BUILD, "tools", "fangs-runner", "fangs-runner"))


def strict(node):
    """An object schema that lists its properties and says nothing of
    others refuses others (kubectl's strict field validation)."""
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def load_schemas():
    with open(SCHEMAS) as f:
        doc = json.load(f)
    return doc["kinds"], strict(doc["definitions"])


KINDS, DEFINITIONS = load_schemas()


def validator(api_version, kind):
    key = "%s/%s" % (api_version, kind)
    if key not in KINDS:
        raise AssertionError("no schema for %s (add it to tests/deploy/schemas/extract.js)" % key)
    schema = {"$ref": "#/definitions/" + KINDS[key], "definitions": DEFINITIONS}
    return jsonschema.Draft7Validator(schema)


def errors_of(doc):
    v = validator(doc.get("apiVersion"), doc.get("kind"))
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message)
            for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def documents():
    """(file name, document) of every manifest."""
    out = []
    for path in sorted(glob.glob(os.path.join(KUBE, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    out.append((os.path.basename(path), doc))
    return out


def env_names(binary):
    """The FANGS_* variables a daemon's --help says it reads."""
    p = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return set(re.findall(r"FANGS_[A-Z_]+", p.stdout))


class Manifests(unittest.TestCase):
    def setUp(self):
        self.docs = documents()
        self.by_kind = {}
        for name, doc in self.docs:
            self.by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    def test_every_manifest_is_valid(self):
        self.assertGreaterEqual(len(self.docs), 10)
        for name, doc in self.docs:
            with self.subTest(file=name, kind=doc.get("kind"), name=doc.get("metadata", {}).get("name")):
                self.assertEqual(errors_of(doc), [])

    def test_the_validation_catches_mistakes(self):
        """The schemas are no rubber stamp: a misspelt field, a wrong type, a
        missing required field and an unknown enum value are refused."""
        ds = self.by_kind["DaemonSet"]["fangs-runner"]
        dep = self.by_kind["Deployment"]["fangs-orchestrator"]
        cases = []
        bad = copy.deepcopy(ds)
        bad["spec"]["template"]["spec"]["hostPid"] = bad["spec"]["template"]["spec"].pop("hostPID")
        cases.append(("misspelt hostPID", bad, "hostPid"))
        bad = copy.deepcopy(dep)
        bad["spec"]["replicas"] = "one"
        cases.append(("replicas as a string", bad, "replicas"))
        bad = copy.deepcopy(dep)
        del bad["spec"]["template"]["spec"]["containers"][0]["name"]
        cases.append(("a container without a name", bad, "name"))
        bad = copy.deepcopy(dep)
        bad["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["scheme"] = "HTTPX"
        cases.append(("an unknown probe scheme", bad, "HTTPX"))
        bad = copy.deepcopy(ds)
        bad["spec"]["template"]["spec"]["volumes"][0]["hostPath"]["type"] = "Dir"
        cases.append(("an unknown hostPath type", bad, "Dir"))
        for what, doc, word in cases:
            with self.subTest(what=what):
                errs = errors_of(doc)
                self.assertTrue(errs, what + " was accepted")
                self.assertIn(word, "\n".join(errs))

    def test_one_namespace(self):
        self.assertIn("fangs", self.by_kind["Namespace"])
        for name, doc in self.docs:
            if doc["kind"] != "Namespace":
                self.assertEqual(doc["metadata"].get("namespace"), "fangs", "%s %s" % (name, doc["kind"]))

    def pods(self):
        for kind in ("Deployment", "DaemonSet"):
            for name, doc in self.by_kind[kind].items():
                yield kind, name, doc

    def test_selectors_select_their_pods(self):
        for kind, name, doc in self.pods():
            labels = doc["spec"]["template"]["metadata"]["labels"]
            for k, v in doc["spec"]["selector"]["matchLabels"].items():
                self.assertEqual(labels.get(k), v, "%s %s selector" % (kind, name))
        svc = self.by_kind["Service"]["fangs-orchestrator"]
        pod = self.by_kind["Deployment"]["fangs-orchestrator"]["spec"]["template"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(pod["metadata"]["labels"].get(k), v)
        ports = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
        for p in svc["spec"]["ports"]:
            self.assertIn(p["targetPort"], ports)

    def test_what_pods_refer_to_is_defined(self):
        secrets, maps = self.by_kind["Secret"], self.by_kind["ConfigMap"]
        accounts = self.by_kind["ServiceAccount"]
        for kind, name, doc in self.pods():
            spec = doc["spec"]["template"]["spec"]
            self.assertIn(spec["serviceAccountName"], accounts)
            self.assertFalse(spec.get("automountServiceAccountToken", True), "%s needs no API token" % name)
            for v in spec.get("volumes", []):
                if "secret" in v:
                    self.assertIn(v["secret"]["secretName"], secrets, v["name"])
                if "configMap" in v:
                    self.assertIn(v["configMap"]["name"], maps, v["name"])
            mounts = set()
            for c in spec["containers"]:
                for m in c.get("volumeMounts", []):
                    self.assertIn(m["name"], {v["name"] for v in spec["volumes"]})
                    mounts.add(m["mountPath"])
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        self.assertIn(ref["key"], secrets[ref["name"]]["stringData"])
                    # a file named by the environment is in a mounted volume
                    val = e.get("value", "")
                    if e["name"].endswith(("_FILE", "_CERT", "_KEY", "_CA", "_CONFIG")) and val.startswith("/"):
                        self.assertTrue(any(val.startswith(m + "/") for m in mounts), "%s=%s" % (e["name"], val))

    def test_environment_is_what_the_daemons_read(self):
        known = {"fangs-orchestrator": env_names(ORCH), "fangs-runner": env_names(RUNNER)}
        self.assertIn("FANGS_TOKENS_FILE", known["fangs-orchestrator"])
        self.assertIn("FANGS_TOKEN_FILE", known["fangs-runner"])
        for kind, name, doc in self.pods():
            for c in doc["spec"]["template"]["spec"]["containers"]:
                for e in c.get("env", []):
                    self.assertIn(e["name"], known[name], "%s sets %s, which it does not read" % (name, e["name"]))

    def test_orchestrator_is_unprivileged(self):
        pod = self.by_kind["Deployment"]["fangs-orchestrator"]["spec"]["template"]["spec"]
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        self.assertEqual(pod["securityContext"]["runAsUser"], 65532)
        c = pod["containers"][0]
        self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertEqual(c["securityContext"]["capabilities"]["drop"], ["ALL"])
        env = {e["name"]: e for e in c["env"]}
        self.assertIn("secretKeyRef", env["FANGS_POSTGRES_DSN"]["valueFrom"])

    def test_runner_daemonset_has_what_a_runner_needs(self):
        ds = self.by_kind["DaemonSet"]["fangs-runner"]["spec"]["template"]["spec"]
        self.assertEqual(ds["nodeSelector"], {"fangs.dev/runner": "true"})
        self.assertTrue(ds["hostPID"])
        self.assertFalse(ds.get("hostNetwork", False))
        self.assertTrue(ds["containers"][0]["securityContext"]["privileged"])
        host = {v["hostPath"]["path"]: v["name"] for v in ds["volumes"] if "hostPath" in v}
        mounts = {m["name"]: m["mountPath"] for m in ds["containers"][0]["volumeMounts"]}
        for path in ("/sys/fs/cgroup", "/sys/kernel/tracing"):
            self.assertIn(path, host)
            self.assertEqual(mounts[host[path]], path)
        # the work root outlives the pod, so the next runner removes leftovers
        work = [v for v in ds["volumes"] if v["name"] == "work"][0]
        self.assertIn("hostPath", work)
        self.assertEqual(mounts["work"], "/var/lib/fangs")
        self.assertGreaterEqual(ds["terminationGracePeriodSeconds"], 180)

    def test_configuration_parses(self):
        """fangs.yaml of the ConfigMap, read by fangs itself (unknown keys
        are errors there)."""
        text = self.by_kind["ConfigMap"]["fangs-config"]["data"]["fangs.yaml"]
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            p = subprocess.run([FANGS, "--config", f.name, "rules", "list"], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            f.seek(0)
            f.write(text.replace("watch_interval_s", "watch_intervl_s"))
            f.flush()
            p = subprocess.run([FANGS, "--config", f.name, "rules", "list"], capture_output=True, text=True,
                               timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("watch_intervl_s", p.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + ["-v"] + sys.argv[1:])
