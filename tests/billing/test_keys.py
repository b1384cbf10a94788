"""Both sides of the merge produce the same key for the same resource (DESIGN 4)."""

from __future__ import annotations

import csv
from pathlib import Path

from kubebill.keys import (
    aks_cluster_from_resource_group,
    aws_resource_key,
    azure_resource_key,
    azure_vm_name,
    cluster_hint,
    gcp_resource_key,
    provider_id_key,
)

SUB = "/subscriptions/82acd5bb/resourceGroups/MC_rg_aks1_westus3/providers/Microsoft.Compute"


def test_aws_instance_and_volume() -> None:
    assert provider_id_key("aws:///us-east-1a/i-0ABC123") == "i-0abc123"
    assert provider_id_key("i-0abc123") == "i-0abc123"
    assert provider_id_key("aws://us-east-1a/vol-0Def") == "vol-0def"
    assert aws_resource_key("i-0abc123") == "i-0abc123"
    assert aws_resource_key("arn:aws:ec2:us-east-1:123456789012:instance/i-0ABC123") == "i-0abc123"
    assert aws_resource_key("arn:aws:ec2:us-east-1:123456789012:volume/vol-0def") == "vol-0def"
    lb = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/K8s-x/abc"
    assert aws_resource_key(lb) == lb.lower()
    assert aws_resource_key("") is None and provider_id_key(None) is None


def test_azure_vmss_instance_both_sides() -> None:
    node = f"azure://{SUB}/virtualMachineScaleSets/aks-nodepool1-3707-vmss/virtualMachines/1"
    bill_vmss = f"{SUB}/virtualMachineScaleSets/AKS-NODEPOOL1-3707-VMSS"
    rebuilt = azure_resource_key(bill_vmss, "aks-nodepool1-3707-vmss_1")
    assert rebuilt == provider_id_key(node)
    assert rebuilt is not None
    assert rebuilt.endswith("/virtualmachinescalesets/aks-nodepool1-3707-vmss/virtualmachines/1")
    # Defender-style line already on the instance
    assert azure_resource_key(f"{bill_vmss}/virtualMachines/1") == rebuilt
    # a VMName that is not <vmss>_<n> keeps the VMSS id
    assert azure_resource_key(bill_vmss, "other-vm") == bill_vmss.lower()
    disk = f"{SUB}/disks/pvc-1234"
    assert azure_resource_key(disk) == provider_id_key(disk) == disk.lower()


def test_azure_vm_name_with_and_without_braces() -> None:
    assert azure_vm_name('{"VMName":"a_1","VCPUs":2}') == "a_1"
    assert azure_vm_name('"VMName":"a_2"') == "a_2"
    assert azure_vm_name("") is None and azure_vm_name("not json") is None


def test_gcp() -> None:
    assert provider_id_key("gce://my-proj/us-central1-a/gke-c1-pool-abc") == "gke-c1-pool-abc"
    assert gcp_resource_key("gke-c1-pool-abc", "//compute.googleapis.com/projects/p/zones/z/instances/123") == (
        "gke-c1-pool-abc"
    )
    assert gcp_resource_key(None, "//compute.googleapis.com/projects/p/zones/z/instances/Name") == "name"
    assert provider_id_key("projects/p/zones/z/disks/pvc-1") == gcp_resource_key("pvc-1")


def test_cluster_hints() -> None:
    assert cluster_hint({"resourceTags/aws:eks:cluster-name": "Prod"}) == "prod"
    assert cluster_hint({"user:eks:cluster-name": "p2"}) == "p2"
    assert cluster_hint({"kubernetes.io/cluster/c3": "owned"}) == "c3"
    assert cluster_hint({"goog-k8s-cluster-name": "g1"}) == "g1"
    assert cluster_hint({}, resource_group="MC_AKHANTIMIROV_AKHANTIMIROV-AKS_WESTUS3") == "akhantimirov-aks"
    assert cluster_hint(resource_id=f"{SUB}/disks/x") == "aks1"
    assert cluster_hint({"env": "x"}, resource_group="my-rg") is None
    assert aks_cluster_from_resource_group("mc_only_westus") is None


def test_vmss_key_from_real_aks_export(external: Path) -> None:
    """Every VMSS line of the real AKS export rebuilds the instance key its Defender lines carry."""
    with (external / "aks" / "cost-management-export.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    instance_keys = {azure_resource_key(r["InstanceId"]) for r in rows if "/virtualMachines/" in r["InstanceId"]}
    rebuilt = {
        azure_resource_key(r["InstanceId"], azure_vm_name(r["AdditionalInfo"]))
        for r in rows
        if r["InstanceId"].endswith("-vmss") and azure_vm_name(r["AdditionalInfo"])
    }
    assert rebuilt and instance_keys and rebuilt == instance_keys


def test_cluster_hint_flattened_tag_names() -> None:
    assert cluster_hint({"user_eks_cluster_name": "E"}) == "e"
    assert cluster_hint({"aws_eks_cluster_name": "f"}) == "f"
    assert cluster_hint({"user_team": "x"}) is None
