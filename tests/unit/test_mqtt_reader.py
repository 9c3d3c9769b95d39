"""The consumer's short read path: MQTT 5 packets split from a byte stream and PUBLISH bodies decoded."""

import struct

import pytest

from gwanje.situations.mqtt import MalformedPublish, decode_publish, split_packets


def varint(n):
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic, payload, mid=7, qos=1, properties=b""):
    t = topic.encode()
    body = struct.pack("!H", len(t)) + t + (struct.pack("!H", mid) if qos else b"")
    body += varint(len(properties)) + properties + payload
    return bytes([0x30 | (qos << 1)]) + varint(len(body)) + body


def test_every_complete_packet_is_split_and_a_partial_one_is_left_for_the_next_read():
    big = b"x" * 300  # a two-byte remaining length
    stream = publish("a/b", b"one") + publish("a/c", big, mid=8) + b"\xd0\x00"  # and a PINGRESP
    whole = stream + publish("a/d", b"three", mid=9)
    for cut in range(len(stream), len(whole)):
        packets, used = split_packets(whole[:cut])
        assert used == len(stream)
        assert [c for c, _ in packets] == [0x32, 0x32, 0xD0]
    packets, used = split_packets(whole)
    assert used == len(whole) and len(packets) == 4


def test_a_stream_cut_inside_the_length_waits_for_more():
    p = publish("a/b", b"y" * 200)
    assert split_packets(p[:2]) == ([], 0)


def test_a_remaining_length_of_five_bytes_is_refused():
    with pytest.raises(MalformedPublish):
        split_packets(b"\x30\xff\xff\xff\xff\x01" + b"z" * 10)


def test_publish_bodies_give_id_qos_topic_and_payload_with_properties_skipped():
    props = b"\x01\x01" + b"\x03" + struct.pack("!H", 16) + b"application/json"  # format indicator, content type
    [(command, body)], _ = split_packets(publish("gwanje/v1/events/bell/B-1", b'{"a":1}', mid=513, properties=props))
    assert decode_publish(command, body) == (513, 1, "gwanje/v1/events/bell/B-1", b'{"a":1}')
    [(command, body)], _ = split_packets(publish("t/x", b"q0", qos=0))
    assert decode_publish(command, body) == (0, 0, "t/x", b"q0")


def test_a_topic_that_is_not_utf8_is_kept_visible_for_the_rejected_shelf():
    body = struct.pack("!H", 3) + b"a\xffb" + struct.pack("!H", 1) + b"\x00" + b"p"
    mid, qos, topic, payload = decode_publish(0x32, body)
    assert topic == "a\ufffdb" and payload == b"p"


@pytest.mark.parametrize(
    "body",
    [b"", b"\x00", b"\x00\x05ab", b"\x00\x01a\x00", b"\x00\x01a\x00\x01\x05\x01"],
    ids=["empty", "half-length", "short-topic", "no-id", "properties-past-end"],
)
def test_a_truncated_publish_is_malformed(body):
    with pytest.raises(MalformedPublish):
        decode_publish(0x32, body)
