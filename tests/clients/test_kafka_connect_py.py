"""kafka-connect-py (a Confluent-style REST client from PyPI) managing Ferry."""

import os
import uuid

import pytest
from kafka_connect import KafkaConnect
from requests.exceptions import HTTPError

from conftest import wait_for


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def running(client, connector, tasks=1):
    def check():
        s = client.get_connector_status(connector)
        ok = s["connector"]["state"] == "RUNNING" and len(s["tasks"]) == tasks
        return s if ok and all(t["state"] == "RUNNING" for t in s["tasks"]) else None

    return check


def test_cluster_info_and_plugins(ferry):
    url, _ = ferry
    client = KafkaConnect(url=url)
    info = client.get_cluster_info()
    assert info["version"] and len(info["commit"]) == 16 and info["kafka_cluster_id"]
    classes = {p["class"]: p["type"] for p in client.list_connector_plugins()}
    assert classes["org.apache.kafka.connect.file.FileStreamSourceConnector"] == "source"
    assert classes["org.apache.kafka.connect.file.FileStreamSinkConnector"] == "sink"


def test_connector_lifecycle(ferry):
    url, work = ferry
    client = KafkaConnect(url=url)
    c = name("client-source")
    topic = name("client-topic")
    path = os.path.join(work, f"{c}.txt")
    with open(path, "w") as f:
        f.write("one\ntwo\n")
    config = {"connector.class": "FileStreamSource", "file": path, "topic": topic}

    created = client.create_connector({"name": c, "config": config})
    assert created["name"] == c and created["type"] == "source"
    assert c in client.list_connectors()
    wait_for("the connector to run", 60, running(client, c))

    expanded = client.list_connectors(expand="status")
    assert expanded[c]["status"]["connector"]["state"] == "RUNNING"
    assert client.get_connector(c)["config"]["topic"] == topic
    assert client.get_connector_config(c)["file"] == path
    assert [t["id"]["task"] for t in client.list_connector_tasks(c)] == [0]
    assert client.get_connector_task_status(c, 0)["state"] == "RUNNING"

    client.pause_connector(c)
    wait_for("PAUSED", 30, lambda: client.get_connector_status(c)["connector"]["state"] == "PAUSED")
    client.resume_connector(c)
    wait_for("RUNNING again", 30, running(client, c))

    # Python's requests sends the booleans as "True"/"False".
    plan = client.restart_connector(c, include_tasks=True, only_failed=False)
    assert plan["connector"]["state"] == "RESTARTING"
    wait_for("RUNNING after restart", 60, running(client, c))
    client.restart_connector_task(c, 0)
    wait_for("RUNNING after task restart", 60, running(client, c))

    wait_for("the topic to be tracked", 30, lambda: topic in client.list_connector_topics(c)[c]["topics"])
    client.reset_connector_topics(c)

    updated = client.update_connector(c, dict(config, **{"batch.size": "10"}))
    assert updated["config"]["batch.size"] == "10"

    client.delete_connector(c)
    assert c not in client.list_connectors()
    with pytest.raises(HTTPError):
        client.get_connector(c)


def test_validation_through_the_client(ferry):
    url, _ = ferry
    client = KafkaConnect(url=url)
    result = client.validate_connector_config(
        "FileStreamSinkConnector",
        {"connector.class": "FileStreamSink", "name": "v", "tasks.max": "zero"},
    )
    assert result["error_count"] >= 2
    errors = {c["value"]["name"]: c["value"]["errors"] for c in result["configs"] if c["value"]["errors"]}
    assert "tasks.max" in errors and "topics" in errors
