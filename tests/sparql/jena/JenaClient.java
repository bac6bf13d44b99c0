// Apache Jena ARQ as a researcher uses it against the node (tests/sparql/test_jena.py):
// remote SELECT, ASK, CONSTRUCT and DESCRIBE over HTTP, and a local query whose SERVICE
// clause sends part of it to the node. One line per answer on stdout, read by the test.
// With `join N` instead: a local VALUES block of N subjects joined with SERVICE on the
// node (Jena sends the node one request per binding), printing the joined rows' count.
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import org.apache.jena.query.DatasetFactory;
import org.apache.jena.query.QueryExecution;
import org.apache.jena.query.QuerySolution;
import org.apache.jena.query.ResultSet;
import org.apache.jena.rdf.model.Model;
import org.apache.jena.rdf.model.Statement;
import org.apache.jena.sparql.exec.http.QueryExecutionHTTP;

public class JenaClient {
    static final String PREFIX = "PREFIX ex: <http://example.org/> ";

    public static void main(String[] args) {
        String endpoint = args[0];
        if (args.length == 3 && args[1].equals("join")) {
            join(endpoint, Integer.parseInt(args[2]));
            return;
        }
        try (QueryExecution qe = QueryExecutionHTTP.service(endpoint)
                .query(PREFIX + "SELECT * WHERE { ?pond ex:label ?label ; ex:depth ?depth } ORDER BY ?depth")
                .build()) {
            ResultSet results = qe.execSelect();
            List<String> rows = new ArrayList<>();
            while (results.hasNext()) {
                QuerySolution row = results.next();
                rows.add(row.getLiteral("label").getString() + "=" + row.getLiteral("depth").getInt());
            }
            System.out.println("vars " + String.join(",", results.getResultVars()));
            System.out.println("rows " + String.join(",", rows));
        }
        try (QueryExecution qe = QueryExecutionHTTP.service(endpoint)
                .query(PREFIX + "ASK { ex:teich ex:depth 3 }").build()) {
            System.out.println("ask " + qe.execAsk());
        }
        try (QueryExecution qe = QueryExecutionHTTP.service(endpoint)
                .query(PREFIX + "CONSTRUCT { ?s ex:depth ?d } WHERE { ?s ex:depth ?d }").build()) {
            System.out.println("construct " + lines(qe.execConstruct()));
        }
        try (QueryExecution qe = QueryExecutionHTTP.service(endpoint)
                .query(PREFIX + "DESCRIBE ex:brunnen").build()) {
            System.out.println("describe " + lines(qe.execDescribe()));
        }
        String federated = PREFIX + "SELECT ?pond ?name ?depth WHERE { "
                + "VALUES (?pond ?name) { (ex:teich \"Dorfteich\") (ex:brunnen \"Brunnen\") (ex:none \"nichts\") } "
                + "SERVICE <" + endpoint + "> { ?pond ex:depth ?depth } } ORDER BY ?depth";
        try (QueryExecution qe = QueryExecution.dataset(DatasetFactory.create()).query(federated).build()) {
            ResultSet results = qe.execSelect();
            List<String> rows = new ArrayList<>();
            while (results.hasNext()) {
                QuerySolution row = results.next();
                rows.add(row.getLiteral("name").getString() + "=" + row.getLiteral("depth").getInt());
            }
            System.out.println("service " + String.join(",", rows));
        }
    }

    static void join(String endpoint, int count) {
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < count; i++) {
            values.append("(ex:n").append(i).append(' ').append(i).append(") ");
        }
        String federated = PREFIX + "SELECT ?s ?i ?v WHERE { VALUES (?s ?i) { " + values + "} "
                + "SERVICE <" + endpoint + "> { ?s ex:v ?v } }";
        long rows = 0;
        long agreeing = 0;
        try (QueryExecution qe = QueryExecution.dataset(DatasetFactory.create()).query(federated).build()) {
            ResultSet results = qe.execSelect();
            while (results.hasNext()) {
                QuerySolution row = results.next();
                rows++;
                if (row.getLiteral("i").getInt() == row.getLiteral("v").getInt()) {
                    agreeing++;
                }
            }
        }
        System.out.println("joined " + rows);
        System.out.println("agreeing " + agreeing);
    }

    static String lines(Model model) {
        List<String> found = new ArrayList<>();
        for (Statement statement : model.listStatements().toList()) {
            found.add(statement.getSubject().getLocalName() + " " + statement.getPredicate().getLocalName()
                    + " " + statement.getObject().toString());
        }
        Collections.sort(found);
        return String.join(";", found);
    }
}
