"""Train a fastmlp classifier on a Dask cluster block by block, then predict in parallel.

    pip install 'fastmlp[dask]'
    python examples/dask_incremental.py            # starts a local 2-worker cluster
    python examples/dask_incremental.py tcp://scheduler:8786   # or uses yours

The data here is synthetic and made on the workers (it never exists in this
process); with real data, build the Dask array from your files instead
(``dask.array.from_zarr``, ``dask.dataframe.read_parquet(...).to_dask_array(lengths=True)``).
Runs in about half a minute on two cores, most of it starting the cluster and
importing dask-ml and fastmlp in the workers (the first pass); later passes take
a fraction of a second each.
"""
import sys
import time

import numpy as np


def make_blocks(n_rows, n_features, n_classes, chunk, seed):
    """A labelled Dask array: 3 classes, a non-linear boundary, rows made block by block."""
    import dask.array as da

    W = np.random.RandomState(100).randn(n_features, n_classes)
    X = da.random.RandomState(seed).standard_normal((n_rows, n_features),
                                                    chunks=(chunk, n_features))
    X = X.astype(np.float32)  # fastmlp's default dtype: no conversion on the workers
    scores = da.tanh(X @ W) + 0.3 * X[:, :n_classes] ** 2
    return X, scores.argmax(axis=1)


def main(address=None):
    from dask.distributed import Client, LocalCluster
    from dask_ml.wrappers import Incremental, ParallelPostFit

    from fastmlp import MLPClassifier

    start = time.perf_counter()
    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        address = cluster
    with Client(address) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers "
              f"({time.perf_counter() - start:.1f} s to start)")
        X, y = make_blocks(40_000, 20, 3, chunk=5_000, seed=0)
        X_test, y_test = make_blocks(10_000, 20, 3, chunk=5_000, seed=1)
        X, y = client.persist([X, y])  # keep the blocks in the workers' memory across passes

        # Incremental calls partial_fit on one block after another, each on a worker; the
        # model (weights, Adam moments, RNG state) travels between them as a small pickle.
        model = Incremental(MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.01,
                                          random_state=0), random_state=0)
        t = time.perf_counter()
        for epoch in range(1, 6):
            model.partial_fit(X, y, classes=np.arange(3))   # classes: on every call is fine
            print(f"pass {epoch}: training loss {model.estimator_.loss_:.4f} "
                  f"({time.perf_counter() - t:.1f} s)")
        print(f"trained in {time.perf_counter() - t:.1f} s "
              f"({model.estimator_.n_iter_} partial_fit calls)")

        # ParallelPostFit predicts every block where it lives (Incremental is one too).
        served = ParallelPostFit(estimator=model.estimator_)
        predicted = served.predict(X_test)                  # lazy: a Dask array
        accuracy = (predicted == y_test).mean().compute()
        print(f"test accuracy (predicted on the workers): {accuracy:.3f}")

        # The trained model is an ordinary fastmlp estimator: save it, export it, ...
        clf = model.estimator_
        print(f"model: {clf.n_layers_} layers, classes {clf.classes_.tolist()}")
    if cluster is not None:
        cluster.close()
    print(f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":  # the guard matters: Dask starts worker processes with spawn
    main(sys.argv[1] if len(sys.argv) > 1 else None)
