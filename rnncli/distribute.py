"""Where training runs: the default device, every local GPU, or a cluster of workers.

TensorFlow's `tf.distribute` does the work. This module turns `--strategy` into a strategy,
reads the cluster from `TF_CONFIG` (the variable every TensorFlow cluster tool sets), decides
the global batch, and patches two gaps in Keras 3's multi-worker training
(keras-team/keras#20585) for the one model it trains. Nothing here imports TensorFlow at module
level: `read_cluster` is plain JSON, so a bad `TF_CONFIG` is reported before TensorFlow starts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rnncli.errors import RunError, UsageError

AUTO, ONE_DEVICE, MIRRORED, MULTI_WORKER = "auto", "one-device", "mirrored", "multi-worker"
#: What `auto` picks when there is at most one GPU: no strategy at all, Keras' own defaults.
DEFAULT = "default"
#: Task types that train; TF_CONFIG's `evaluator` and `ps` belong to other strategies.
TRAINING_JOBS = ("chief", "worker")


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a multi-worker cluster, as `TF_CONFIG` describes it."""

    cluster: dict[str, tuple[str, ...]]
    task_type: str
    task_index: int

    @property
    def chief(self) -> bool:
        """The one task that writes the run: `chief` if the cluster has one, else worker 0."""
        if "chief" in self.cluster:
            return self.task_type == "chief"
        return self.task_type == "worker" and self.task_index == 0

    @property
    def workers(self) -> int:
        return sum(len(self.cluster.get(job, ())) for job in TRAINING_JOBS)

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_index}"

    def job_key(self, settings: dict) -> str:
        """The same on every task of one job and on every restart of it: cluster plus settings.

        A restarted chief finds its run (and the backup in it) through this key, and workers
        derive a shared seed from it when none was given, so they split the data identically.
        """
        payload = json.dumps(
            {"cluster": {job: list(hosts) for job, hosts in self.cluster.items()}, "settings": settings},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def read_cluster(raw: str | None) -> ClusterTask:
    """Parse and check `TF_CONFIG`; every mistake is one `UsageError` naming the field."""
    hint = "see docs/distributed.md for one TF_CONFIG per worker"
    if raw is None or not raw.strip():
        raise UsageError("--strategy multi-worker needs the TF_CONFIG environment variable", hint)
    try:
        config = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"TF_CONFIG is not valid JSON ({exc})", hint) from None
    if not isinstance(config, dict):
        raise UsageError("TF_CONFIG must be a JSON object with 'cluster' and 'task'", hint)
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise UsageError("TF_CONFIG has no 'cluster' object (job name -> list of host:port)", hint)
    hosts: dict[str, tuple[str, ...]] = {}
    for job, addresses in cluster.items():
        if job not in TRAINING_JOBS:
            raise UsageError(
                f"TF_CONFIG cluster has a {job!r} job; multi-worker training uses only 'chief' and 'worker'",
                hint,
            )
        if (
            not isinstance(addresses, list)
            or not addresses
            or not all(isinstance(a, str) and _is_address(a) for a in addresses)
        ):
            raise UsageError(f"TF_CONFIG cluster {job!r} must be a list of 'host:port' strings", hint)
        hosts[job] = tuple(addresses)
    if len(hosts.get("chief", ())) > 1:
        raise UsageError("TF_CONFIG cluster may have at most one 'chief'", hint)
    every = [address for addresses in hosts.values() for address in addresses]
    if len(set(every)) != len(every):
        raise UsageError("TF_CONFIG cluster lists an address twice", hint)
    task = config.get("task")
    if not isinstance(task, dict):
        raise UsageError("TF_CONFIG has no 'task' object ({'type': 'worker', 'index': N})", hint)
    task_type, index = task.get("type"), task.get("index")
    if task_type not in hosts:
        raise UsageError(f"TF_CONFIG task type {task_type!r} is not a job of its cluster", hint)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(hosts[task_type]):
        raise UsageError(
            f"TF_CONFIG task index {index!r} is out of range for {len(hosts[task_type])} {task_type}(s)", hint
        )
    return ClusterTask(hosts, task_type, index)


def _is_address(address: str) -> bool:
    host, _, port = address.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


@dataclass(frozen=True)
class StrategyInfo:
    """What training runs on, for the display and the run's config."""

    name: str  # DEFAULT, ONE_DEVICE, MIRRORED or MULTI_WORKER (what `auto` resolved to)
    replicas: int  # in sync across the whole cluster
    devices: tuple[str, ...]  # this process's devices
    global_batch: int
    workers: int = 1
    task: str | None = None  # "worker 1" under multi-worker
    chief: bool = True
    job: str | None = None  # the multi-worker job key

    @property
    def per_replica_batch(self) -> float:
        return self.global_batch / self.replicas

    def to_dict(self) -> dict:
        return {
            "strategy": self.name,
            "replicas": self.replicas,
            "devices": list(self.devices),
            "global_batch": self.global_batch,
            "workers": self.workers,
            "task": self.task,
            "job": self.job,
        }


@dataclass
class Distribution:
    """A strategy (None: Keras' default, untouched) and how rnncli uses it."""

    strategy: object | None
    info: StrategyInfo
    cluster: ClusterTask | None = None

    @property
    def default(self) -> bool:
        return self.strategy is None

    @property
    def multi_worker(self) -> bool:
        return self.info.name == MULTI_WORKER

    def scope(self):
        """Build and compile inside this, so variables are mirrored over the replicas."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def dataset(self, dataset):
        """Shard by data: every worker builds the same batches from the same in-memory arrays
        and keeps its own share of each; file-based sharding has no files to split here."""
        if self.strategy is None:
            return dataset
        tf = _tf()
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return dataset.with_options(options)

    def prepare(self, model, element_spec) -> None:
        """Build the model's loss, metric and optimizer state from the input's spec.

        Keras 3 builds them under a strategy from a first batch reduced across replicas, which
        fails for multi-worker (keras-team/keras#20585) and, elsewhere, reads a batch of the
        pipeline (shifting its per-epoch shuffles by one); the spec is all it needs.
        """
        if self.strategy is None:
            return
        strategy = self.strategy

        def build(iterator=None, data_batch=None) -> None:
            with strategy.scope():
                model._symbolic_build(data_batch=element_spec)

        build()
        model._maybe_symbolic_build = build

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """While Keras trains or evaluates: average logged metrics over the whole cluster.

        Keras 3 reduces them with `axis=0`, which fails on the scalars multi-worker returns
        (keras-team/keras#20585); averaging over every replica also gives every worker the same
        `val_loss`, so early stopping takes the same decision everywhere.
        """
        if not self.multi_worker:
            yield
            return
        from keras.src.backend.tensorflow import trainer

        original = trainer.reduce_per_replica
        strategy = self.strategy

        def reduce_per_replica(values, strategy_, reduction):
            if strategy_ is strategy and reduction in ("auto", "mean"):
                from keras.src import tree

                return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
            return original(values, strategy_, reduction)

        trainer.reduce_per_replica = reduce_per_replica
        try:
            yield
        finally:
            trainer.reduce_per_replica = original

    def from_chief(self, values: Sequence[float]) -> list[float]:
        """The chief's `values` on every worker (this worker's own when not multi-worker)."""
        if not self.multi_worker:
            return list(values)
        tf = _tf()
        return [float(v) for v in self._broadcast([tf.constant(list(values), tf.float64)])[0].numpy()]

    def sync_from_chief(self, variables) -> None:
        """Give every worker the chief's values of `variables` (Keras variables).

        Only the chief restores from its backup and keeps the best model; this is how the other
        workers take up exactly its state, so they need no disk of their own that survives.
        """
        if not self.multi_worker:
            return
        variables = list(variables)
        for variable, value in zip(variables, self._broadcast([v.value for v in variables])):
            variable.assign(value)

    def _broadcast(self, tensors: list) -> list:
        """All-reduce in which only the chief's first replica contributes: exact for any dtype
        the collectives sum (x + 0 == x), and it costs one collective per dtype."""
        tf = _tf()
        strategy = self.strategy
        chief = self.info.chief
        groups: dict = {}
        for position, tensor in enumerate(tensors):
            groups.setdefault(tf.as_dtype(tensor.dtype), []).append(position)
        results: list = [None] * len(tensors)
        for dtype, positions in groups.items():
            parts = [tf.reshape(tf.convert_to_tensor(tensors[p]), [-1]) for p in positions]
            flat = tf.concat(parts, axis=0)
            zeros = tf.zeros_like(flat)

            def value(context, flat=flat, zeros=zeros):
                own = chief and context.replica_id_in_sync_group == 0
                return flat if own else zeros

            summed = strategy.reduce(
                "SUM", strategy.experimental_distribute_values_from_function(value), axis=None
            )
            sizes = [int(part.shape[0]) for part in parts]
            for position, piece in zip(positions, tf.split(summed, sizes)):
                results[position] = tf.cast(tf.reshape(piece, tf.shape(tensors[position])), dtype)
        return results


def make(
    name: str, batch_size: int, global_batch: bool, cluster: ClusterTask | None = None, job: str | None = None
) -> Distribution:
    """The strategy `--strategy NAME` asks for, and the batch each training step consumes.

    `batch_size` is per replica unless `global_batch`: one replica trains exactly as before, N
    replicas take N times the batch per step (the usual data-parallel scaling).
    """
    tf = _tf()
    if name == MULTI_WORKER:
        if cluster is None:
            raise UsageError("--strategy multi-worker needs the TF_CONFIG environment variable")
        # Created before anything else touches a device: collectives need an uninitialised runtime.
        try:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
        except (tf.errors.OpError, RuntimeError, ValueError) as exc:
            address = cluster.cluster[cluster.task_type][cluster.task_index]
            raise RunError(
                f"{cluster.name} cannot start its server at {address}: {short_reason(exc)}",
                "is the port free, and is TF_CONFIG the same cluster on every worker?",
            ) from None
        devices = tuple(strategy.extended.worker_devices)
        return _with_batch(
            strategy,
            MULTI_WORKER,
            devices,
            strategy.num_replicas_in_sync,
            batch_size,
            global_batch,
            workers=cluster.workers,
            task=cluster.name,
            chief=cluster.chief,
            cluster=cluster,
            job=job,
        )
    gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
    if name == AUTO:
        name = MIRRORED if len(gpus) > 1 else DEFAULT
    if name == DEFAULT:
        device = gpus[0] if gpus else tf.config.list_logical_devices("CPU")[0].name
        return _with_batch(None, DEFAULT, (device,), 1, batch_size, global_batch)
    if name == ONE_DEVICE:
        device = gpus[0] if gpus else tf.config.list_logical_devices("CPU")[0].name
        return _with_batch(
            tf.distribute.OneDeviceStrategy(device), ONE_DEVICE, (device,), 1, batch_size, global_batch
        )
    if name == MIRRORED:
        devices = gpus or [device.name for device in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
        return _with_batch(
            strategy, MIRRORED, tuple(devices), strategy.num_replicas_in_sync, batch_size, global_batch
        )
    raise UsageError(f"unknown strategy {name!r}")


def _with_batch(
    strategy, name: str, devices: tuple[str, ...], replicas: int, batch_size: int, global_batch: bool, **extra
) -> Distribution:
    total = batch_size if global_batch else batch_size * replicas
    if total < replicas:
        raise UsageError(
            f"a global batch of {total} cannot feed {replicas} replicas",
            "give --batch-size at least the number of replicas, or drop --global-batch",
        )
    cluster = extra.pop("cluster", None)
    info = StrategyInfo(name, replicas, devices, total, **extra)
    return Distribution(strategy, info, cluster)


def lost_worker(exc: BaseException) -> bool:
    """Whether `exc` is TensorFlow reporting a peer gone (collectives aborted, heartbeats lost)."""
    tf = _tf()
    return isinstance(
        exc,
        (
            tf.errors.UnavailableError,
            tf.errors.AbortedError,
            tf.errors.CancelledError,
            tf.errors.DeadlineExceededError,
            tf.errors.InternalError,
        ),
    )


def short_reason(exc: BaseException) -> str:
    """What a TensorFlow error says happened, in a few words and without its graph dump."""
    import re

    text = str(getattr(exc, "message", exc))
    unhealthy = re.search(r"tasks are unhealthy[^\n]*\n\s*(\S+)", text)
    if unhealthy:
        return f"{unhealthy.group(1)} stopped sending heartbeats"
    text = re.sub(r"\{\{[^}]*\}\}", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:200]


def _tf():
    from rnncli.backend import tensorflow

    return tensorflow()
