package cloudsecrets;

import org.codelibs.elasticsearch.runner.ElasticsearchClusterRunner;

/**
 * Starts the embedded node like the cluster runner's own main, with the ingest role added: the runner
 * gives its nodes only the master and data roles, and without an ingest node Elasticsearch refuses to
 * index through a pipeline (only {@code _simulate} works). Arguments are the runner's own.
 */
public final class EngineMain {
    private EngineMain() {
    }

    public static void main(String[] args) throws Exception {
        ElasticsearchClusterRunner runner = new ElasticsearchClusterRunner();
        runner.onBuild((index, settings) -> settings.putList("node.roles", "master", "data", "ingest"));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                System.err.println("engine: close failed: " + e);
            }
        }));
        runner.build(args);
        while (!runner.isClosed()) {
            Thread.sleep(5000);
        }
    }
}
