// Tools of the fan-out example.
const FOLDERS = {
  inbox: [
    { title: 'Q3 sales report', text: 'Revenue grew 12% over Q2, led by the new outdoor line; returns fell to 3%.' },
    { title: 'Warehouse incident', text: 'A forklift damaged two pallets on Tuesday; nobody was hurt; stock was re-counted.' },
    { title: 'Hiring plan', text: 'Two support engineers and one data analyst to join before December.' },
  ],
};

export const tools = {
  load_documents: ({ folder }) => {
    const docs = FOLDERS[folder];
    if (!docs) throw new Error(`no folder '${folder}' (folders: ${Object.keys(FOLDERS).join(', ')})`);
    return docs;
  },

  // processAccumulated: the tool receives the whole history of `summary` (one entry per child),
  // not just the newest value. Children finish in any order on the AWS runtime: sort for a stable digest.
  build_digest: {
    processAccumulated: true,
    fn: (summaries) => ({
      count: summaries.length,
      digest: [...summaries]
        .sort()
        .map((s) => `- ${s}`)
        .join('\n'),
    }),
  },
};
