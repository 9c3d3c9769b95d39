"""ONVIF: ask a camera for its RTSP address (Media ``GetStreamUri``), over SOAP with WS-UsernameToken.

A camera is registered either with its RTSP address (``rtsp://…``) or with its ONVIF device
service: ``http(s)://user:password@host[:port]/onvif/device_service`` (the registry's own URL
pattern) or ``onvif://user:password@host[:port]`` (device service at the usual path). For the latter the address
is asked for when a stream is needed: ``GetCapabilities`` (where the Media service lives),
``GetProfiles`` (the first profile is the main stream) and ``GetStreamUri`` (RTP over RTSP, TCP).
The credentials are then put into the RTSP address, which most cameras require as well.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

log = logging.getLogger(__name__)

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
}
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DIGEST_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest"
NONCE_TYPE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
DEFAULT_DEVICE_PATH = "/onvif/device_service"
TIMEOUT_S = 5.0
CACHE_SECONDS = 300.0


class OnvifError(RuntimeError):
    """The camera did not answer, refused, or answered something we cannot use."""


@dataclass(frozen=True)
class OnvifTarget:
    device_url: str
    username: str | None
    password: str | None


def is_onvif_url(url: str) -> bool:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme in ("onvif", "onvifs") or (scheme in ("http", "https") and "/onvif/" in parts.path.lower())


def parse_onvif_url(url: str) -> OnvifTarget:
    """``onvif://user:pw@host:port[/path]`` or ``http://user:pw@host/onvif/…`` → device-service URL, credentials."""
    parts = urlsplit(url)
    if not is_onvif_url(url):
        raise ValueError(f"not an ONVIF device address: {redact(url)!r}")
    if not parts.hostname:
        raise ValueError(f"ONVIF address without host: {redact(url)!r}")
    scheme = {"onvif": "http", "onvifs": "https"}.get(parts.scheme.lower(), parts.scheme.lower())
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path if parts.path not in ("", "/") else DEFAULT_DEVICE_PATH
    return OnvifTarget(
        urlunsplit((scheme, netloc, path, parts.query, "")),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password is not None else None,
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken: Base64(SHA-1(nonce + created + password))."""
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def _security_header(username: str, password: str, *, nonce: bytes | None = None, created: str | None = None) -> str:
    nonce = nonce if nonce is not None else os.urandom(16)
    created = created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}" s:mustUnderstand="1"><wsse:UsernameToken>'
        f"<wsse:Username>{_xml_text(username)}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST_TYPE}">{password_digest(nonce, created, password)}</wsse:Password>'
        f'<wsse:Nonce EncodingType="{NONCE_TYPE}">{base64.b64encode(nonce).decode()}</wsse:Nonce>'
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
    )


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def envelope(body: str, username: str | None = None, password: str | None = None) -> str:
    header = f"<s:Header>{_security_header(username, password or '')}</s:Header>" if username else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS["s"]}" '
        f'xmlns:tds="{NS["tds"]}" xmlns:trt="{NS["trt"]}" xmlns:tt="{NS["tt"]}">{header}'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )


def _call(client: httpx.Client, url: str, action: str, body: str, target: OnvifTarget) -> ET.Element:
    payload = envelope(body, target.username, target.password)
    headers = {"Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'}
    try:
        resp = client.post(url, content=payload.encode(), headers=headers)
    except httpx.HTTPError as exc:
        raise OnvifError(f"ONVIF {action.rsplit('/', 1)[-1]} at {url}: {exc}") from exc
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError as exc:
        raise OnvifError(f"ONVIF answer from {url} is not XML (HTTP {resp.status_code})") from exc
    fault = root.find(".//s:Fault", NS)
    if fault is not None or resp.status_code >= 400:
        reason = "".join(fault.itertext()).strip() if fault is not None else f"HTTP {resp.status_code}"
        raise OnvifError(f"ONVIF {action.rsplit('/', 1)[-1]} refused: {reason[:200]}")
    return root


def get_stream_uri(onvif_url: str, *, client: httpx.Client | None = None) -> str:
    """The RTSP address of the camera's first media profile, with its credentials filled in."""
    target = parse_onvif_url(onvif_url)
    own = client is None
    client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
    try:
        caps = _call(
            client,
            target.device_url,
            "http://www.onvif.org/ver10/device/wsdl/GetCapabilities",
            "<tds:GetCapabilities><tds:Category>Media</tds:Category></tds:GetCapabilities>",
            target,
        )
        xaddr = caps.find(".//tt:Media/tt:XAddr", NS)
        media_url = xaddr.text.strip() if xaddr is not None and xaddr.text else target.device_url
        profiles = _call(
            client, media_url, "http://www.onvif.org/ver10/media/wsdl/GetProfiles", "<trt:GetProfiles/>", target
        )
        first = profiles.find(".//trt:Profiles", NS)
        token = first.get("token") if first is not None else None
        if not token:
            raise OnvifError(f"ONVIF camera at {target.device_url} has no media profile")
        answer = _call(
            client,
            media_url,
            "http://www.onvif.org/ver10/media/wsdl/GetStreamUri",
            "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream>"
            "<tt:Transport><tt:Protocol>RTSP</tt:Protocol></tt:Transport></trt:StreamSetup>"
            f"<trt:ProfileToken>{_xml_text(token)}</trt:ProfileToken></trt:GetStreamUri>",
            target,
        )
        uri = answer.find(".//trt:MediaUri/tt:Uri", NS)
        if uri is None or not uri.text or not uri.text.strip().lower().startswith(("rtsp://", "rtsps://")):
            raise OnvifError(f"ONVIF camera at {target.device_url} returned no RTSP address")
        return with_credentials(uri.text.strip(), target.username, target.password)
    finally:
        if own:
            client.close()


def with_credentials(rtsp_url: str, username: str | None, password: str | None) -> str:
    parts = urlsplit(rtsp_url)
    if not username or parts.username:
        return rtsp_url
    auth = quote(username, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit((parts.scheme, f"{auth}@{parts.netloc}", parts.path, parts.query, parts.fragment))


_cache: dict[str, tuple[float, str]] = {}


def resolve_stream_url(stream_url: str) -> str:
    """What ffmpeg should open: an RTSP address as is, an ONVIF device asked (cached a few minutes)."""
    if not is_onvif_url(stream_url):
        return stream_url
    hit = _cache.get(stream_url)
    if hit and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    uri = get_stream_uri(stream_url)
    _cache[stream_url] = (time.monotonic(), uri)
    return uri


def redact(url: str) -> str:
    """An address fit for logs and error messages: no user name, no password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"***@{netloc}", parts.path, parts.query, parts.fragment))


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@]+@")


def scrub(text: str) -> str:
    """Text fit for logs and error messages (ffmpeg's own, which repeat the address): no credentials."""
    return _USERINFO.sub(r"\1***@", text)
