"""The bank of instance features behind pix2pixHD's style control.

After training, the paper encodes every training image, records one feature vector per instance,
and clusters the vectors of every semantic class with K-means (K = 10). At inference every
instance gets one cluster centre of its class: a random one (diverse outputs) or one the user
chooses (the paper's interactive editing).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from einops import rearrange
from torch import Tensor

from .._checks import check_bool, check_image_batch, check_positive_int
from ._feature_bank_io import read_bank_file, read_pix2pixhd_npy, write_bank_file
from .ids import (
    IdTable,
    as_int64_ids,
    check_instance_map,
    check_same_size,
    id_table,
    instance_to_class,
    key_segments,
)

_RECORD_FIELDS = ("classes", "features", "pixels", "image_pixels")
_SHOWN = 10  # instances named in an error message
_INT64_BOUND = 2**63


class FeatureBank:
    """Per-class cluster centres of instance features: collect, fit, sample, save.

    Collect with ``add`` (pooled feature maps, such as the output of
    [`InstanceFeatureEncoder`][condgan_blocks.instance.encoder.InstanceFeatureEncoder]), cluster
    with ``fit``, then draw feature maps for new instance maps with ``sample`` (random centres)
    or ``feature_map`` (chosen centres). ``save`` and
    [`load`][condgan_blocks.instance.feature_bank.FeatureBank.load] use a safe npz format
    that is checked before it is read (see ``condgan_blocks.instance._feature_bank_io``);
    ``from_pix2pixhd_npy`` imports the original's file.

    An instance is one id in one image. Its class comes from an explicit label map where one is
    passed (the label must be the same at all its pixels), else from its id with
    [`instance_to_class`][condgan_blocks.instance.ids.instance_to_class] and ``class_divisor``.

    Args:
        feature_channels: Channels C of the feature maps.
        class_divisor: Divisor of the Cityscapes id convention.

    Examples:
        >>> import torch
        >>> bank = FeatureBank(2)
        >>> instances = torch.tensor([[[[7, 7, 26001, 26001]]], [[[7, 7, 26002, 26002]]]])
        >>> features = torch.tensor([[[[0.0, 0, 1, 1]], [[0, 0, 1, 1]]],
        ...                          [[[0.5, 0.5, 3, 3]], [[0.5, 0.5, 3, 3]]]])
        >>> bank.add(features, instances)
        4
        >>> sorted(bank.fit(n_clusters=1, min_area=0).centers.items())
        [(7, tensor([[0.2500, 0.2500]])), (26, tensor([[2., 2.]]))]
        >>> bank.sample(torch.tensor([[[[26005, 7]]]]))
        tensor([[[[2.0000, 0.2500]],
        <BLANKLINE>
                 [[2.0000, 0.2500]]]])
    """

    def __init__(self, feature_channels: int, *, class_divisor: int = 1000) -> None:
        self.feature_channels = check_positive_int("feature_channels", feature_channels)
        self.class_divisor = check_positive_int("class_divisor", class_divisor)
        self._records: list[dict[str, Tensor]] = []
        self._centers: dict[int, Tensor] = {}
        self._populations: dict[int, Tensor] = {}

    def __repr__(self) -> str:
        return (
            f"FeatureBank(feature_channels={self.feature_channels}, "
            f"class_divisor={self.class_divisor}, instances={self.num_instances}, "
            f"classes with centres={sorted(self._centers)})"
        )

    # -- collection -------------------------------------------------------------------------

    def add(self, features: Tensor, instances: Tensor, labels: Tensor | None = None) -> int:
        """Record the class, feature vector and area of every instance of a batch, vectorised.

        The feature vector is read at the pixel the original ``encode_features`` reads: the
        middle one (index ``num // 2``) of the instance's pixels in row-major order. On pooled
        maps every pixel of an instance holds the same vector.

        Args:
            features: Pooled feature map of shape (N, C, H, W).
            instances: Instance map of shape (N, 1, H, W) or (N, H, W).
            labels: Optional label map of the same size giving every instance's class.

        Returns:
            The number of instances recorded.

        Raises:
            ValueError: If the maps differ in size, C differs from ``feature_channels``, ids are
                not non-negative integers, a label varies inside an instance, or the feature
                vector of an instance holds NaN or infinity (the message counts them and names
                their instance ids and images; nothing is recorded).
        """
        check_image_batch(features, self.feature_channels, name="features")
        if not features.is_floating_point():
            raise TypeError(f"features must be a floating tensor, got dtype {features.dtype}")
        instances = check_instance_map(instances)
        check_same_size(features, instances)
        table = id_table(instances)
        classes = self._instance_classes(table, instances, labels)
        batch, channels, height, width = features.shape
        pixels = height * width
        keys, counts, middle = key_segments(table.keys(), classes.numel())
        values = features.detach().reshape(batch, channels, pixels)[
            middle // pixels, :, middle % pixels
        ]
        finite = torch.isfinite(values).all(1)
        if not bool(finite.all()):
            bad = keys[~finite]
            images = (bad // table.num_columns).tolist()
            ids = table.ids[bad % table.num_columns].tolist()
            pairs = list(zip(ids, images, strict=True))
            shown = f"{pairs[:_SHOWN]}{' ...' if len(pairs) > _SHOWN else ''}"
            raise ValueError(
                f"features must be finite: {len(pairs)} of {keys.numel()} instances have NaN or "
                f"infinite feature vectors, (instance id, image) pairs {shown}; nothing was "
                "recorded"
            )
        self._records.append(
            {
                "classes": classes.reshape(-1)[keys].cpu(),
                "features": values.to("cpu", torch.float32),
                "pixels": counts.cpu(),
                "image_pixels": torch.full_like(counts, pixels, device="cpu"),
            }
        )
        return int(keys.numel())

    @property
    def num_instances(self) -> int:
        """Number of instances recorded by ``add`` (or loaded)."""
        return sum(record["classes"].numel() for record in self._records)

    def records(self) -> dict[str, Tensor]:
        """Everything ``add`` recorded, concatenated (new tensors).

        Returns:
            ``classes`` (M,) int64, ``features`` (M, C) float32, ``pixels`` (M,) int64 (the
            instance's pixel count) and ``areas`` (M,) float64 (pixels / (H * W) of its image).
            The original's area column is ``pixels / (H * W // 32)``.
        """
        merged = self._merged_records()
        areas = merged["pixels"].to(torch.float64) / merged.pop("image_pixels")
        return {**merged, "areas": areas}

    def _merged_records(self) -> dict[str, Tensor]:
        if not self._records:
            empty = torch.zeros(0, dtype=torch.int64)
            return {
                "classes": empty,
                "features": torch.zeros(0, self.feature_channels),
                "pixels": empty,
                "image_pixels": empty,
            }
        return {name: torch.cat([r[name] for r in self._records]) for name in _RECORD_FIELDS}

    # -- clustering -------------------------------------------------------------------------

    def fit(
        self,
        n_clusters: int = 10,
        *,
        seed: int = 0,
        min_area: float = 1 / 64,
        n_init: int = 10,
    ) -> FeatureBank:
        """Cluster the recorded vectors of every class with scikit-learn's KMeans.

        Each class gets ``min(n_clusters, number of its instances)`` centres. Instances whose
        relative area (pixels / (H * W)) is not above ``min_area`` are skipped: this is the
        original's rule, which keeps rows with ``pixels / (H * W // 32) > 0.5``, and with the
        default ``min_area=1/64`` it selects the same instances whenever H * W is a multiple of
        32. Classes left without instances get no centres. Replaces previous centres. The
        number of clustered instances nearest each centre is kept as its population
        ([`populations`][condgan_blocks.instance.feature_bank.FeatureBank.populations]), which
        [`sample`][condgan_blocks.instance.feature_bank.FeatureBank.sample] draws by.

        Args:
            n_clusters: K, the most centres per class.
            seed: ``random_state`` of KMeans (the original uses 0).
            min_area: Relative area an instance must exceed to be clustered.
            n_init: Number of KMeans initialisations (10, as in the original's scikit-learn).

        Returns:
            The bank itself.

        Raises:
            TypeError: If ``n_clusters``, ``seed`` or ``n_init`` is not an int (as when data is
                passed to ``fit`` instead of
                [`add`][condgan_blocks.instance.feature_bank.FeatureBank.add]), or
                ``min_area`` is not a float.
            ValueError: If the bank is empty or no instance is larger than ``min_area``.
        """
        from sklearn.cluster import KMeans

        if isinstance(n_clusters, list | tuple | np.ndarray | Tensor):
            raise TypeError(
                f"n_clusters must be an int, got {type(n_clusters).__name__}: fit() takes no "
                "data, it clusters the feature vectors recorded with add()"
            )
        check_positive_int("n_clusters", n_clusters)
        check_positive_int("n_init", n_init)
        check_positive_int("seed", seed, minimum=0)
        if isinstance(min_area, bool) or not isinstance(min_area, (int, float)):
            raise TypeError(f"min_area must be a float, got {min_area!r}")
        if not 0.0 <= min_area < 1.0:
            raise ValueError(f"min_area must be in [0, 1), got {min_area}")
        if not self._records:
            raise ValueError("the FeatureBank is empty: add() feature maps before fit()")
        records = self._merged_records()
        keep = records["pixels"].to(torch.float64) > min_area * records["image_pixels"]
        if not bool(keep.any()):
            raise ValueError(
                f"none of the {records['pixels'].numel()} recorded instances is larger than "
                f"min_area={min_area} of its image; lower min_area"
            )
        classes, features = records["classes"][keep], records["features"][keep]
        centers, populations = {}, {}
        for label in classes.unique().tolist():
            rows = features[classes == label].to(torch.float64).numpy()
            k = min(n_clusters, rows.shape[0])
            kmeans = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit(rows)
            centers[label] = torch.from_numpy(kmeans.cluster_centers_).to(torch.float32)
            populations[label] = torch.from_numpy(np.bincount(kmeans.labels_, minlength=k))
        self._centers, self._populations = centers, populations
        return self

    @property
    def centers(self) -> dict[int, Tensor]:
        """``{class: (k, C) float32 tensor}``, ascending classes; copies, so edits do not leak."""
        return {label: centers.clone() for label, centers in sorted(self._centers.items())}

    @property
    def populations(self) -> dict[int, Tensor]:
        """``{class: (k,) int64 tensor}``: how many clustered instances each centre stands for.

        Set by [`fit`][condgan_blocks.instance.feature_bank.FeatureBank.fit] (K-means' cluster
        sizes) and kept by ``save``/``load``. Empty when unknown: banks imported with
        [`from_pix2pixhd_npy`][condgan_blocks.instance.feature_bank.FeatureBank.from_pix2pixhd_npy]
        (the original keeps no sizes) or saved in the first file format. Copies.
        """
        return {label: sizes.clone() for label, sizes in sorted(self._populations.items())}

    # -- sampling ---------------------------------------------------------------------------

    def sample(
        self,
        instances: Tensor,
        labels: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        by_population: bool = True,
    ) -> Tensor:
        """A feature map in which every instance gets a random centre of its class.

        Each centre is drawn with probability proportional to its
        [`populations`][condgan_blocks.instance.feature_bank.FeatureBank.populations] entry:
        styles come as often as they came in the training data, and a centre that stands for a
        few odd instances is drawn rarely. With ``by_population=False``, or for a bank without
        populations, every centre of the class is equally likely, as in the original (whose
        recipe draws with ``np.random.randint``). On the demo's scenes drawing by population
        moved the generated / real mIoU by -0.001 to +0.025 over four trained runs (+0.010 on
        average; docs/quality.md).

        Vectorised: one uniform number is drawn per (image, id-table column) with ``generator``
        (same generator state, same maps: same result), turned into a centre per instance and
        written to the pixels with one ``gather``. Instances of classes absent from the bank get
        zeros (the original leaves that memory uninitialised), with one warning naming them.

        Args:
            instances: Instance map of shape (N, 1, H, W) or (N, H, W).
            labels: Optional label map of the same size giving every instance's class.
            generator: Random generator on the instances' device.
            by_population: Draw centres in proportion to their populations (default) or
                uniformly.

        Returns:
            Float32 tensor of shape (N, C, H, W) on the instances' device, constant inside every
            instance.

        Raises:
            ValueError: If the bank has no centres, or the maps are invalid.
        """
        return self._feature_map(instances, labels, None, generator, by_population)

    def feature_map(
        self,
        instances: Tensor,
        choices: Mapping[int, int],
        labels: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
        by_population: bool = True,
    ) -> Tensor:
        """A feature map with user-chosen centres: the paper's per-object style control.

        Args:
            instances: Instance map of shape (N, 1, H, W) or (N, H, W).
            choices: ``{instance_id: cluster index}`` into the centres of the instance's class
                (in every image holding that id). Instances not named are sampled as in
                [`sample`][condgan_blocks.instance.feature_bank.FeatureBank.sample].
            labels: Optional label map of the same size giving every instance's class.
            generator: Random generator for the sampled instances.
            by_population: How the instances not named are drawn (see ``sample``).

        Returns:
            Float32 tensor of shape (N, C, H, W) on the instances' device.

        Raises:
            TypeError: If ``choices`` is not a mapping, or an id or index is not an int.
            ValueError: If an id or index is negative or beyond int64, a chosen id is not in
                the map, or its class has no such cluster.
        """
        if not isinstance(choices, Mapping):
            raise TypeError(f"choices must be a mapping {{instance_id: cluster}}, got {choices!r}")
        for instance_id, cluster in choices.items():
            for what, value in (("instance id", instance_id), ("cluster index", cluster)):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise TypeError(f"choices: {what} must be an int, got {value!r}")
                if value < 0:
                    raise ValueError(f"choices: {what} must be >= 0, got {value}")
                if value >= _INT64_BOUND:
                    raise ValueError(f"choices: {what} must be < 2**63 (int64), got {value}")
        return self._feature_map(instances, labels, dict(choices), generator, by_population)

    def _feature_map(
        self,
        instances: Tensor,
        labels: Tensor | None,
        choices: dict[int, int] | None,
        generator: torch.Generator | None,
        by_population: bool,
    ) -> Tensor:
        check_bool("by_population", by_population)
        if not self._centers:
            raise ValueError("the FeatureBank has no cluster centres: call fit() or load() first")
        instances = check_instance_map(instances)
        table = id_table(instances)
        classes = self._instance_classes(table, instances, labels)  # (N, T)
        device = instances.device
        bank_classes = torch.tensor(sorted(self._centers), device=device)
        blocks = [self._centers[label] for label in bank_classes.tolist()]
        sizes = torch.tensor([block.shape[0] for block in blocks], device=device)
        offsets = torch.cumsum(sizes, 0) - sizes
        zero_row = int(sizes.sum())
        rows = torch.cat([*blocks, blocks[0].new_zeros(1, self.feature_channels)]).to(device)

        slot = torch.searchsorted(bank_classes, classes).clamp_max(len(blocks) - 1)
        found = bank_classes[slot] == classes
        size = torch.where(found, sizes[slot], 1)
        draw = torch.rand(classes.shape, generator=generator, device=device)
        if by_population and self._populations:
            cluster = self._cluster_by_population(bank_classes.tolist(), slot, draw, size)
        else:
            cluster = torch.minimum((draw * size).to(torch.int64), size - 1)
        keys = table.keys()
        present = table.counts(keys) > 0
        if choices:
            cluster = self._apply_choices(table, classes, present, found, size, cluster, choices)
        missing = classes[present & ~found].unique().tolist()
        if missing:
            warnings.warn(
                f"classes {missing} have no cluster centres in the bank; their instances get zeros",
                UserWarning,
                stacklevel=3,
            )
        row = torch.where(found, offsets[slot] + cluster, zero_row)
        # (C, N * T) centre of every table slot, then one look-up per pixel.
        slot_values = rows.t().index_select(1, row.reshape(-1))
        batch, _, height, width = instances.shape
        out = slot_values.index_select(1, keys)  # (C, N * H * W): the pixels in keys' order
        return rearrange(out, "c (n h w) -> n c h w", n=batch, h=height, w=width).contiguous()

    def _cluster_by_population(
        self, bank_classes: list[int], slot: Tensor, draw: Tensor, size: Tensor
    ) -> Tensor:
        """The cluster of every (image, id-table column) by inverse-CDF sampling: the number of
        its class's cumulative population shares that are <= its uniform draw."""
        widest = max(self._centers[label].shape[0] for label in bank_classes)
        # Past a class's last centre the share is 2: never <= a draw in [0, 1).
        cumulative = torch.full((len(bank_classes), widest), 2.0, dtype=torch.float64)
        for row, label in enumerate(bank_classes):
            counts = self._populations[label].to(torch.float64)
            shares = counts.cumsum(0) / counts.sum()
            shares[-1] = 1.0  # exactly, whatever the rounding
            cumulative[row, : counts.numel()] = shares
        table = cumulative.to(draw.device)[slot]  # (N, T, widest)
        cluster = (table <= draw.to(torch.float64).unsqueeze(-1)).sum(-1)
        return torch.minimum(cluster, size - 1)

    def _apply_choices(
        self,
        table: IdTable,
        classes: Tensor,
        present: Tensor,
        found: Tensor,
        size: Tensor,
        cluster: Tensor,
        choices: dict[int, int],
    ) -> Tensor:
        chosen_ids = torch.tensor(list(choices), dtype=torch.int64, device=classes.device)
        chosen = torch.tensor(list(choices.values()), dtype=torch.int64, device=classes.device)
        column = torch.searchsorted(table.ids, chosen_ids).clamp_max(table.num_columns - 1)
        in_map = (table.ids[column] == chosen_ids) & present[:, column].any(0)
        if not bool(in_map.all()):
            absent = chosen_ids[~in_map].tolist()
            raise ValueError(
                f"choices name instance ids {absent}, which are not in the instance map"
            )
        choice = torch.full((table.num_columns,), -1, dtype=torch.int64, device=classes.device)
        choice[column] = chosen
        choice = choice.expand_as(cluster)
        invalid = present & (choice >= 0) & (~found | (choice >= size))
        if bool(invalid.any()):
            image, col = invalid.nonzero()[0].tolist()
            label = int(classes[image, col])
            available = int(size[image, col]) if bool(found[image, col]) else 0
            raise ValueError(
                f"choices: instance {int(table.ids[col])} (class {label}, image {image}) asks for "
                f"cluster {int(choice[image, col])}, but class {label} has {available} "
                f"cluster(s) in the bank"
            )
        return torch.where(choice >= 0, choice, cluster)

    def _instance_classes(self, table: IdTable, instances: Tensor, labels: Tensor | None) -> Tensor:
        """(N, T) int64: the class of every (image, id-table column)."""
        batch = table.columns.shape[0]
        if labels is None:
            return instance_to_class(table.ids, self.class_divisor).expand(batch, -1)
        labels = check_instance_map(labels, name="labels")
        check_same_size(labels, instances, name="labels")
        label_ids, _, _ = as_int64_ids(labels, name="labels")
        flat = label_ids.reshape(-1)
        keys = table.keys()
        # Any pixel's label stands for its instance; the check below makes the choice irrelevant.
        classes = flat.new_zeros(batch * table.num_columns).scatter_(0, keys, flat)
        mismatch = classes[keys] != flat
        if bool(mismatch.any()):
            where = mismatch.nonzero()[:5].squeeze(1)
            pairs = sorted(
                set(
                    zip(
                        table.ids[table.columns.reshape(-1)[where]].tolist(),
                        (where // table.columns.shape[1]).tolist(),
                        strict=True,
                    )
                )
            )
            raise ValueError(
                "labels must be constant inside every instance; (instance id, image) pairs "
                f"{pairs} hold several labels (labels {tuple(labels.shape)})"
            )
        return classes.view(batch, table.num_columns)

    # -- files ------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the centres and records to ``path``, atomically, in the documented npz format.

        The file is written exactly at ``path`` (no suffix is added) and never holds pickles.
        """
        records = self._merged_records()
        classes = sorted(self._centers)
        centers = [self._centers[label] for label in classes]
        write_bank_file(
            path,
            {
                "feature_channels": np.array(self.feature_channels, dtype=np.int64),
                "class_divisor": np.array(self.class_divisor, dtype=np.int64),
                "center_classes": np.array(classes, dtype=np.int64),
                "center_counts": np.array([c.shape[0] for c in centers], dtype=np.int64),
                "centers": torch.cat(centers).numpy()
                if centers
                else np.zeros((0, self.feature_channels), dtype=np.float32),
                "center_populations": torch.cat(
                    [self._populations[label] for label in classes]
                ).numpy()
                if self._populations and classes
                else np.zeros(0, dtype=np.int64),
                **{f"record_{name}": value.numpy() for name, value in records.items()},
            },
        )

    @classmethod
    def load(cls, path: str | os.PathLike, *, feature_channels: int | None = None) -> FeatureBank:
        """Read a bank written by [`save`][condgan_blocks.instance.feature_bank.FeatureBank.save].

        The file is never unpickled, and nothing is decompressed or allocated before it is known
        to fit the format: the zip's directory is checked first (member names, sizes,
        compression ratio), then every ``.npy`` header (dtype, shape, and that the declared size
        is exactly the member's), then the shapes against each other and ``feature_channels``;
        only then are the CRC32 checksums verified and the arrays read and validated (classes,
        counts, finite values).

        Args:
            path: The file.
            feature_channels: When given, the file must hold this many channels.

        Raises:
            FileNotFoundError: If there is no file at ``path``.
            ValueError: If the file is corrupt, not a bank, or holds another number of channels.
        """
        arrays = read_bank_file(path)
        channels = int(arrays["feature_channels"])
        if feature_channels is not None and channels != feature_channels:
            raise ValueError(
                f"{os.fspath(path)} holds a FeatureBank with {channels} feature channels, "
                f"expected {feature_channels}"
            )
        bank = cls(channels, class_divisor=int(arrays["class_divisor"]))
        ends = np.cumsum(arrays["center_counts"])
        bank._centers = {
            int(label): torch.from_numpy(arrays["centers"][end - count : end].copy())
            for label, count, end in zip(
                arrays["center_classes"], arrays["center_counts"], ends, strict=True
            )
        }
        if arrays["center_populations"].size:
            populations = torch.from_numpy(arrays["center_populations"])
            bank._populations = {
                label: populations[end - centers.shape[0] : end].clone()
                for (label, centers), end in zip(bank._centers.items(), ends.tolist(), strict=True)
            }
        if arrays["record_classes"].size:
            bank._records = [
                {name: torch.from_numpy(arrays[f"record_{name}"]) for name in _RECORD_FIELDS}
            ]
        return bank

    @classmethod
    def from_pix2pixhd_npy(
        cls, path: str | os.PathLike, *, allow_pickle: bool = False, class_divisor: int = 1000
    ) -> FeatureBank:
        """Import the original's ``features_clustered_*.npy`` (``{label: centres}``).

        The original wrote a pickled dict with ``np.save``; loading it unpickles, which can run
        code from the file, so this refuses unless ``allow_pickle=True``. (The original's own
        ``np.load(path).item()`` no longer works on current NumPy, which refuses pickles by
        default.) Save the result with
        [`save`][condgan_blocks.instance.feature_bank.FeatureBank.save] to convert it to the
        safe format.

        Raises:
            ValueError: Without ``allow_pickle=True``, or if the file is not such a dict of
                (k, C) arrays of one width C.
        """
        centers = read_pix2pixhd_npy(path, allow_pickle=allow_pickle)
        channels = next(iter(centers.values())).shape[1]
        bank = cls(channels, class_divisor=class_divisor)
        bank._centers = {
            label: torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
            for label, array in centers.items()
        }
        return bank
