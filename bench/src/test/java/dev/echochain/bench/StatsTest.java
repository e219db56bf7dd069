package dev.echochain.bench;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The figures' summary: median with range, and its JSON form. */
class StatsTest {

    @Test
    void reportsMedianAndRangeAsTextAndJson() {
        Stats stats = Stats.of(List.of(1.3, 1.1, 1.2));
        String json = Json.write(Map.of("ratio", Comparison.stats(stats)));

        assertThat(stats.text("%.2f"), is("1.20 (1.10–1.30)"));
        assertThat(json, containsString("\"median\": 1.2"));
    }

    @Test
    void leavesOutMissingFigures() {
        Stats stats = Stats.of(List.of(Double.NaN, 2.0));

        assertThat("NaN is no figure", stats.n(), is(1));
        assertThat(stats.text("%.1f"), is("2.0"));
    }
}
