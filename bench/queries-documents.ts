// The three read queries of issue 10, as a client sends them (bench/queries.ts drives them under load,
// test/read-queries.test.ts checks their answers and the SQL statements they cost). `$first` defaults to
// the page of 20; the test also asks for smaller pages to show the cost does not follow the rows.

export interface ReadQuery {
  name: 'Q1' | 'Q2' | 'Q3';
  description: string;
  query: string;
}

/** Q1: the first 20 agents (newest first) with id, name, model and owner's email. */
export const AGENTS_WITH_OWNERS = /* GraphQL */ `
  query BenchAgentsWithOwners($first: Int! = 20) {
    agents(first: $first) {
      edges {
        node {
          id
          name
          model
          owner {
            email
          }
        }
      }
    }
  }
`;

/** Q2: the 20 most recent debates with topic and status, their turns and each turn's agent's name. */
export const RECENT_DEBATES_WITH_TURNS = /* GraphQL */ `
  query BenchRecentDebatesWithTurns($first: Int! = 20) {
    debates(first: $first) {
      edges {
        node {
          id
          topic
          status
          turns(first: 20) {
            edges {
              node {
                round
                seat
                position
                confidence
                content
                agent {
                  name
                }
              }
            }
          }
        }
      }
    }
  }
`;

/** Q3: one debate by id with its participants, its turns and each turn's agent. */
export const DEBATE_WITH_PARTICIPANTS_AND_TURNS = /* GraphQL */ `
  query BenchDebate($id: ID!) {
    debate(id: $id) {
      id
      topic
      status
      participants {
        seat
        agent {
          id
          name
          model
        }
      }
      turns(first: 20) {
        edges {
          node {
            round
            seat
            position
            confidence
            content
            agent {
              id
              name
              model
            }
          }
        }
      }
    }
  }
`;

export const READ_QUERIES: ReadQuery[] = [
  { name: 'Q1', description: '20 agents with their owners’ emails', query: AGENTS_WITH_OWNERS },
  {
    name: 'Q2',
    description: '20 newest debates, their turns and turn agents',
    query: RECENT_DEBATES_WITH_TURNS,
  },
  {
    name: 'Q3',
    description: 'one debate with participants, turns and agents',
    query: DEBATE_WITH_PARTICIPANTS_AND_TURNS,
  },
];

/** The targets on the 2-core development machine. */
export const TARGETS: Record<ReadQuery['name'], { reqPerSec: number; p99Ms: number; statements: number }> = {
  Q1: { reqPerSec: 1_700, p99Ms: 50, statements: 2 },
  Q2: { reqPerSec: 290, p99Ms: 200, statements: 3 },
  Q3: { reqPerSec: 900, p99Ms: 60, statements: 3 },
};

export interface AgentsAnswer {
  agents: { edges: { node: { id: string; name: string; model: string; owner: { email: string } } }[] };
}

export interface TurnAnswer {
  round: number;
  seat: number;
  position: string | null;
  confidence: number | null;
  content: string;
  agent: { id?: string; name: string; model?: string };
}

export interface DebatesAnswer {
  debates: {
    edges: {
      node: { id: string; topic: string; status: string; turns: { edges: { node: TurnAnswer }[] } };
    }[];
  };
}

export interface DebateAnswer {
  debate: {
    id: string;
    topic: string;
    status: string;
    participants: { seat: number; agent: { id: string; name: string; model: string } }[];
    turns: { edges: { node: TurnAnswer }[] };
  };
}

/** The request body of a read query, as sent over HTTP. */
export const requestBody = (query: string, variables: Record<string, unknown> = {}) =>
  JSON.stringify({ query, variables });
