"""Reading captures past one process: capture files and byte ranges of large pcap files
on Dask workers (``engine``), split on record boundaries (``ranges``). Needs the
``segverify[dask]`` extra; nothing here is imported on the default, single-process path."""
