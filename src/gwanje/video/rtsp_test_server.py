"""A loopback RTSP server that plays MP4 files as endless live cameras (tests, demos, benches).

Run by Debian's ``/usr/bin/python3``: GStreamer's Python bindings (``python3-gi``,
``gir1.2-gst-rtsp-server-1.0``) are not installable into the project's virtual environment, so
this file imports nothing from gwanje and is started as a subprocess::

    /usr/bin/python3 rtsp_test_server.py --port 0 cam1=/path/a.mp4 cam2=/path/b.mp4

It prints ``READY <port>`` once it listens, then serves ``rtsp://127.0.0.1:<port>/cam1`` etc.
With ``--repeat N`` each file is also served at ``/<name>0001`` … ``/<name>N`` (N mount points, one
camera pipeline: for benches of many cameras). With ``--auth user:password`` every path asks for
those credentials (RTSP Basic), like a real camera.

Each file is played by one "camera" pipeline in real time and looped for ever; every RTSP client of
that path gets the same H.264 access units, stream-copied (no re-encode), starting at the next
keyframe — like a real camera that one joins mid-stream.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

CAMERA_PIPELINE = (
    'filesrc location="{path}" ! qtdemux name=d d.video_0 ! queue ! h264parse config-interval=-1 '
    "! video/x-h264,stream-format=byte-stream,alignment=au "
    "! appsink name=sink sync=true emit-signals=true max-buffers=50 drop=false"
)
CLIENT_PIPELINE = (
    "( appsrc name=src is-live=true format=time do-timestamp=true min-latency=0 "
    "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
)


class Camera:
    """One looping file; pushes each access unit to every connected client's appsrc."""

    def __init__(self, name: str, path: str):
        self.name = name
        self.caps: Gst.Caps | None = None
        self._clients: dict[Gst.Element, bool] = {}  # appsrc -> seen a keyframe yet
        self._lock = threading.Lock()
        self.pipeline = Gst.parse_launch(CAMERA_PIPELINE.format(path=path.replace('"', '\\"')))
        self.pipeline.get_by_name("sink").connect("new-sample", self._on_sample)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message)

    def start(self) -> None:
        self.pipeline.set_state(Gst.State.PLAYING)

    def stop(self) -> None:
        self.pipeline.set_state(Gst.State.NULL)

    def _on_message(self, _bus, message) -> None:  # noqa: ANN001
        if message.type == Gst.MessageType.EOS:
            # Loop: a flushing seek back to the start; clients' appsrc timestamps keep running.
            self.pipeline.seek_simple(Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0)
        elif message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            print(f"camera {self.name}: {err.message} ({debug})", file=sys.stderr, flush=True)

    def _on_sample(self, sink) -> Gst.FlowReturn:  # noqa: ANN001
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.OK
        if self.caps is None:
            self.caps = sample.get_caps()
        buf = sample.get_buffer()
        keyframe = not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
        with self._lock:
            clients = list(self._clients.items())
        for appsrc, started in clients:
            if not started:
                if not keyframe:
                    continue
                with self._lock:
                    if appsrc in self._clients:
                        self._clients[appsrc] = True
            out = buf.copy()
            out.pts = Gst.CLOCK_TIME_NONE
            out.dts = Gst.CLOCK_TIME_NONE
            appsrc.emit("push-buffer", out)
        return Gst.FlowReturn.OK

    def attach(self, appsrc: Gst.Element) -> None:
        if self.caps is not None:
            appsrc.set_property("caps", self.caps)
        with self._lock:
            self._clients[appsrc] = False

    def detach(self, appsrc: Gst.Element) -> None:
        with self._lock:
            self._clients.pop(appsrc, None)


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, camera: Camera):
        super().__init__()
        self.camera = camera
        self.set_launch(CLIENT_PIPELINE)
        self.set_shared(False)  # one small pipeline per client; the camera pipeline is shared
        self.connect("media-configure", self._configure)

    def _configure(self, _factory, media) -> None:  # noqa: ANN001
        appsrc = media.get_element().get_by_name("src")
        self.camera.attach(appsrc)
        media.connect("unprepared", lambda _m: self.camera.detach(appsrc))


def parse_mapping(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected name=path, got {text!r}")
    return name.strip("/"), path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8554, help="0 picks a free port (printed on READY)")
    parser.add_argument("--auth", default=None, metavar="user:password", help="require these credentials")
    parser.add_argument("--threads", type=int, default=256, help="client threads (GStreamer's default is 1)")
    parser.add_argument("--repeat", type=int, default=0, metavar="N", help="also serve /<name>0001 … /<name>N")
    parser.add_argument("streams", nargs="+", type=parse_mapping, metavar="name=file.mp4")
    args = parser.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    # Each new client's DESCRIBE waits for its media to prepare (the next keyframe, up to a GOP); with the
    # default pool of one thread those waits queue behind each other and concurrent clients time out.
    server.get_thread_pool().set_max_threads(args.threads)
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
    mounts = server.get_mount_points()
    cameras = []
    for name, path in args.streams:
        camera = Camera(name, path)
        cameras.append(camera)
        factory = Factory(camera)
        if args.auth:
            role = Gst.Structure.from_string(
                "camera-user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )[0]
            factory.add_role_from_structure(role)
        mounts.add_factory(f"/{name}", factory)
        for i in range(1, args.repeat + 1):
            mounts.add_factory(f"/{name}{i:04d}", factory)
    for camera in cameras:
        camera.start()
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    try:
        loop.run()
    finally:
        for camera in cameras:
            camera.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
