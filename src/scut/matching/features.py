"""The second matching stage: local features on two thumbnails.

PDQ summarises the whole frame, so a copy cropped by a tenth, framed by a
caption band or turned by a few degrees can land 40 to 90 bits away from
its original. For the few indexed pictures that close, ORB keypoints of the
two thumbnails are matched and a similarity transform (rotation, scale,
shift) is fitted with RANSAC. Two pictures are the same when enough
keypoints agree on one transform and those keypoints cover a large part of
both pictures. The coverage rule is there so that a shared logo or
watermark cannot make distinct photos match.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

ORB_FEATURES = 1000
# Lowe's ratio test: a match counts when clearly better than the runner-up.
RATIO = 0.8
# RANSAC reprojection error, in pixels of a thumbnail of ~320 pixels.
REPROJECTION_PIXELS = 4.0
# Agreeing keypoints must span this share of each picture's area, so that
# a shared logo or watermark alone does not make two pictures match.
MIN_COVERAGE = 0.15
# A copy may be scaled, but not by more than this factor either way.
MAX_SCALE = 4.0
# Thumbnails are scaled to this longer side before features are taken.
WORKING_SIZE = 480


@dataclass(frozen=True, slots=True)
class FeatureMatch:
    """Two pictures found to be the same by local features."""

    inliers: int
    coverage: float
    scale: float
    rotation_degrees: float
    mirrored: bool


@dataclass(slots=True)
class Features:
    """ORB keypoints and descriptors of one picture, and its size."""

    points: np.ndarray
    descriptors: np.ndarray | None
    width: int
    height: int


def features_of(jpeg: bytes, mirrored: bool = False) -> Features | None:
    """Return the ORB features of a JPEG or PNG thumbnail; None if unreadable."""
    grey = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    if grey is None or grey.size == 0:
        return None
    longer = max(grey.shape)
    if longer != WORKING_SIZE:
        scale = WORKING_SIZE / longer
        size = (
            max(1, round(grey.shape[1] * scale)),
            max(1, round(grey.shape[0] * scale)),
        )
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    if mirrored:
        grey = cv2.flip(grey, 1)
    orb = cv2.ORB.create(nfeatures=ORB_FEATURES)
    keypoints, descriptors = orb.detectAndCompute(grey, None)
    points = np.array([point.pt for point in keypoints], dtype=np.float32)
    return Features(points, descriptors, grey.shape[1], grey.shape[0])


class QueryFeatures:
    """The features of one query thumbnail, as is and mirrored, taken once.

    A file is compared with several candidates; its own keypoints are the
    same each time. The mirrored set is only computed if a comparison needs
    it.
    """

    def __init__(self, jpeg: bytes) -> None:
        self.jpeg = jpeg
        self.plain = features_of(jpeg)
        self._mirrored: Features | None = None

    @property
    def mirrored(self) -> Features | None:
        """The features of the query mirrored left to right."""
        if self._mirrored is None:
            self._mirrored = features_of(self.jpeg, mirrored=True)
        return self._mirrored


def same_picture(
    query: bytes | QueryFeatures, candidate: bytes, min_inliers: int
) -> FeatureMatch | None:
    """Return how two thumbnails match by local features, or None if they do not.

    The query is tried mirrored only when it does not match as it is,
    since ORB descriptors are not mirror invariant and a mirrored crop is
    a common edit.
    """
    features = query if isinstance(query, QueryFeatures) else QueryFeatures(query)
    target = features_of(candidate)
    if target is None or target.descriptors is None:
        return None
    for mirrored in (False, True):
        source = features.mirrored if mirrored else features.plain
        if source is None or source.descriptors is None:
            return None
        found = _match(source, target, min_inliers, mirrored)
        if found is not None:
            return found
    return None


def _match(
    source: Features, target: Features, min_inliers: int, mirrored: bool
) -> FeatureMatch | None:
    assert source.descriptors is not None and target.descriptors is not None
    if len(source.points) < min_inliers or len(target.points) < min_inliers:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(source.descriptors, target.descriptors, k=2)
    good = [
        first
        for candidates in pairs
        if len(candidates) == 2
        for first, second in [candidates]
        if first.distance < RATIO * second.distance
    ]
    if len(good) < min_inliers:
        return None
    source_points = source.points[[match.queryIdx for match in good]]
    target_points = target.points[[match.trainIdx for match in good]]
    transform, mask = cv2.estimateAffinePartial2D(
        source_points,
        target_points,
        method=cv2.RANSAC,
        ransacReprojThreshold=REPROJECTION_PIXELS,
        maxIters=2000,
        confidence=0.995,
    )
    if transform is None or mask is None:
        return None
    inlier = mask.ravel().astype(bool)
    count = int(inlier.sum())
    if count < min_inliers:
        return None
    scale = float(np.hypot(transform[0, 0], transform[1, 0]))
    if not 1 / MAX_SCALE <= scale <= MAX_SCALE:
        return None
    coverage = min(
        _hull_share(source_points[inlier], source.width, source.height),
        _hull_share(target_points[inlier], target.width, target.height),
    )
    if coverage < MIN_COVERAGE:
        return None
    rotation = float(np.degrees(np.arctan2(transform[1, 0], transform[0, 0])))
    return FeatureMatch(
        count, round(coverage, 3), round(scale, 3), round(rotation, 1), mirrored
    )


def _hull_share(points: np.ndarray, width: int, height: int) -> float:
    hull = cv2.convexHull(points.reshape(-1, 1, 2))
    return float(cv2.contourArea(hull)) / float(width * height)
